/*
 * NVML mock: initialisation, system queries, the call-entry protocol and the control ABI.
 * Device getters live in nvml-device.c, events in nvml-events.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brixlet-mock.h"
#include "nvml-state.h"

nvml_state g_nvml = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Event waits measure their timeout on CLOCK_MONOTONIC so a wall-clock jump cannot stretch them. */
__attribute__((constructor)) static void nvml_mock_setup(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&g_nvml.events, &attr);
  pthread_condattr_destroy(&attr);
  for (unsigned j = 0; j < MOCK_MAX_DEVICES; j++) g_nvml.dev[j].index = j;
}

int nvml_override(const char *fn, const struct nvml_device_slot *dev) {
  int code;
  if (dev != NULL && mock_returns_get(&dev->d.returns, fn, &code)) return code;
  if (mock_returns_get(&g_nvml.returns, fn, &code)) return code;
  return 0;
}

nvmlReturn_t nvml_enter(const char *fn) {
  pthread_mutex_lock(&g_nvml.mu);
  mock_count(&g_nvml.calls, fn);
  if (g_nvml.refcount <= 0) return NVML_ERROR_UNINITIALIZED;
  return nvml_override(fn, NULL);
}

static struct nvml_device_slot *slot_of(nvmlDevice_t device) {
  struct nvml_device_slot *s = (struct nvml_device_slot *)device;
  /* Compare addresses as integers: a foreign pointer must be rejected, not dereferenced. */
  unsigned long long p = (unsigned long long)(size_t)s, lo = (unsigned long long)(size_t)&g_nvml.dev[0];
  if (p < lo || (p - lo) % sizeof g_nvml.dev[0] != 0) return NULL;
  unsigned long long idx = (p - lo) / sizeof g_nvml.dev[0];
  return idx < g_nvml.count ? &g_nvml.dev[idx] : NULL;
}

nvmlReturn_t nvml_enter_dev(const char *fn, nvmlDevice_t device, struct nvml_device_slot **out) {
  pthread_mutex_lock(&g_nvml.mu);
  mock_count(&g_nvml.calls, fn);
  if (g_nvml.refcount <= 0) return NVML_ERROR_UNINITIALIZED;
  struct nvml_device_slot *s = slot_of(device);
  if (s == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  int ms;
  if (mock_returns_get(&s->d.hangs, fn, &ms)) {
    mock_hang(&g_nvml.events, &g_nvml.mu, &g_nvml.generation, ms);
    /* The world may have changed while the lock was released. */
    if (g_nvml.refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    if ((s = slot_of(device)) == NULL) return NVML_ERROR_INVALID_ARGUMENT;
  }
  *out = s;
  return nvml_override(fn, s);
}

nvmlReturn_t nvml_leave(nvmlReturn_t rc) {
  pthread_mutex_unlock(&g_nvml.mu);
  return rc;
}

static nvmlReturn_t init(const char *fn) {
  pthread_mutex_lock(&g_nvml.mu);
  mock_count(&g_nvml.calls, fn);
  if (g_nvml.refcount > 0) {
    g_nvml.refcount++;
    return nvml_leave(NVML_SUCCESS);
  }
  int rc = nvml_scenario_load();
  if (rc == NVML_SUCCESS) rc = nvml_override(fn, NULL);
  if (rc == NVML_SUCCESS) g_nvml.refcount = 1;
  return nvml_leave(rc);
}

NVML_EXPORT nvmlReturn_t nvmlInit_v2(void) { return init(__func__); }

NVML_EXPORT nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
  (void)flags; /* NO_GPUS / NO_ATTACH change nothing for a simulated node */
  return init(__func__);
}

NVML_EXPORT nvmlReturn_t nvmlShutdown(void) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (--g_nvml.refcount == 0) pthread_cond_broadcast(&g_nvml.events); /* blocked waits return UNINITIALIZED */
  return nvml_leave(NVML_SUCCESS);
}

NVML_EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
  static const char *const names[] = {
      "Success", "Uninitialized", "Invalid Argument", "Not Supported", "Insufficient Permissions", "Already Initialized",
      "Not Found", "Insufficient Size", "Insufficient External Power", "Driver Not Loaded", "Timeout", "Interrupt Request Issue",
      "NVML Shared Library Not Found", "Function Not Found", "Corrupted infoROM", "GPU is lost", "GPU requires reset",
      "Operating System Blocked", "RM/NVML Version Mismatch", "In Use", "Insufficient Memory", "No Data",
      "vGPU ECC Not Supported", "Insufficient Resources", "Frequency Not Supported", "Argument Version Mismatch",
      "Deprecated", "Not Ready", "GPU Not Found", "Invalid State"};
  pthread_mutex_lock(&g_nvml.mu);
  mock_count(&g_nvml.calls, __func__);
  pthread_mutex_unlock(&g_nvml.mu);
  if (result >= 0 && (size_t)result < sizeof names / sizeof names[0]) return names[result];
  return "Unknown Error";
}

/* field is the address of the state field: it is read only once the lock is held (a reload frees it). */
static nvmlReturn_t system_string(const char *fn, char *const *field, char *buf, unsigned int length) {
  nvmlReturn_t rc = nvml_enter(fn);
  const char *value = *field;
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (buf == NULL) return nvml_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (value == NULL) return nvml_leave(NVML_ERROR_NOT_SUPPORTED);
  return nvml_leave(mock_copy_str(buf, length, value) ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE);
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
  return system_string(__func__, &g_nvml.driver_version, version, length);
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
  return system_string(__func__, &g_nvml.nvml_version, version, length);
}

NVML_EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *cudaDriverVersion) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (cudaDriverVersion == NULL) return nvml_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!g_nvml.has_cuda_version) return nvml_leave(NVML_ERROR_NOT_SUPPORTED);
  *cudaDriverVersion = g_nvml.cuda_version;
  return nvml_leave(NVML_SUCCESS);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (deviceCount == NULL) return nvml_leave(NVML_ERROR_INVALID_ARGUMENT);
  *deviceCount = g_nvml.count;
  return nvml_leave(NVML_SUCCESS);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (device == NULL || index >= g_nvml.count) return nvml_leave(NVML_ERROR_INVALID_ARGUMENT);
  /* A per-device override of this function is how a scenario loses a GPU (e.g. 15 GPU_IS_LOST). */
  rc = nvml_override(__func__, &g_nvml.dev[index]);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  *device = &g_nvml.dev[index];
  return nvml_leave(NVML_SUCCESS);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char *uuid, nvmlDevice_t *device) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != NVML_SUCCESS) return nvml_leave(rc);
  if (uuid == NULL || device == NULL) return nvml_leave(NVML_ERROR_INVALID_ARGUMENT);
  for (unsigned j = 0; j < g_nvml.count; j++) {
    const mock_value *v = &g_nvml.dev[j].d.v[NK_UUID];
    if (!v->has || strcmp(v->s, uuid) != 0) continue;
    rc = nvml_override(__func__, &g_nvml.dev[j]);
    if (rc == NVML_SUCCESS) *device = &g_nvml.dev[j];
    return nvml_leave(rc);
  }
  return nvml_leave(NVML_ERROR_NOT_FOUND);
}

/* ---- control ABI ---- */

BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_load(const char *path) {
  pthread_mutex_lock(&g_nvml.mu);
  char *copy = path != NULL ? strdup(path) : NULL;
  free(g_nvml.path);
  g_nvml.path = copy;
  g_nvml.path_set = copy != NULL;
  memset(&g_nvml.calls, 0, sizeof g_nvml.calls);
  int rc = nvml_scenario_load();
  if (rc != NVML_SUCCESS) g_nvml.refcount = 0;
  pthread_cond_broadcast(&g_nvml.events); /* ends hangs */
  pthread_mutex_unlock(&g_nvml.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT void brixlet_nvml_mock_reset(void) {
  pthread_mutex_lock(&g_nvml.mu);
  memset(&g_nvml.calls, 0, sizeof g_nvml.calls);
  if (nvml_scenario_load() != NVML_SUCCESS) g_nvml.refcount = 0;
  pthread_cond_broadcast(&g_nvml.events); /* ends hangs */
  pthread_mutex_unlock(&g_nvml.mu);
}

BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_set_return(const char *fn, int device, int code) {
  if (fn == NULL) return -1;
  pthread_mutex_lock(&g_nvml.mu);
  int rc = -1;
  if (device == -1) rc = mock_returns_set(&g_nvml.returns, fn, code);
  else if (device >= 0 && (unsigned)device < g_nvml.count) rc = mock_returns_set(&g_nvml.dev[device].d.returns, fn, code);
  pthread_mutex_unlock(&g_nvml.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_set_value(int device, const char *key, const char *json) {
  /* Validate on a scratch device first so "every device" fails as a whole, even with zero devices. */
  mock_device scratch;
  memset(&scratch, 0, sizeof scratch);
  int valid = mock_set_json(&nvml_table, &scratch, key, json);
  mock_device_clear(&scratch);
  if (valid != 0) return -1;
  pthread_mutex_lock(&g_nvml.mu);
  int rc = -1;
  if (device == -1) {
    rc = 0;
    for (unsigned j = 0; j < g_nvml.count && rc == 0; j++) rc = mock_set_json(&nvml_table, &g_nvml.dev[j].d, key, json);
  } else if (device >= 0 && (unsigned)device < g_nvml.count) {
    rc = mock_set_json(&nvml_table, &g_nvml.dev[device].d, key, json);
  }
  pthread_mutex_unlock(&g_nvml.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT int brixlet_nvml_mock_push_xid(int device, unsigned long long xid) {
  pthread_mutex_lock(&g_nvml.mu);
  int rc = device >= 0 && (unsigned)device < g_nvml.count ? nvml_log_push((unsigned)device, xid) : -1;
  pthread_mutex_unlock(&g_nvml.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT unsigned long long brixlet_nvml_mock_call_count(const char *fn) {
  pthread_mutex_lock(&g_nvml.mu);
  unsigned long long n = mock_count_get(&g_nvml.calls, fn);
  pthread_mutex_unlock(&g_nvml.mu);
  return n;
}
