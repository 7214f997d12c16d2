/*
 * NVML device getters. Each reads scenario keys of one device; a missing key is NOT_SUPPORTED,
 * a NULL out-param INVALID_ARGUMENT (checked first, as the driver does).
 */
#include <stdio.h>
#include <string.h>

#include "nvml-state.h"

#define OK NVML_SUCCESS
#define BAD NVML_ERROR_INVALID_ARGUMENT
#define UNSUPPORTED NVML_ERROR_NOT_SUPPORTED

static const mock_value *key(const struct nvml_device_slot *s, enum nvml_key k) { return &s->d.v[k]; }
static bool has(const struct nvml_device_slot *s, enum nvml_key k) { return s->d.v[k].has; }
static unsigned long long val(const struct nvml_device_slot *s, enum nvml_key k) { return s->d.v[k].has ? s->d.v[k].u : 0; }

static nvmlReturn_t put_u32(const struct nvml_device_slot *s, enum nvml_key k, unsigned int *out) {
  if (out == NULL) return BAD;
  if (!has(s, k)) return UNSUPPORTED;
  *out = (unsigned int)key(s, k)->u;
  return OK;
}

static nvmlReturn_t put_u64(const struct nvml_device_slot *s, enum nvml_key k, unsigned long long *out) {
  if (out == NULL) return BAD;
  if (!has(s, k)) return UNSUPPORTED;
  *out = key(s, k)->u;
  return OK;
}

static nvmlReturn_t put_str(const struct nvml_device_slot *s, enum nvml_key k, char *buf, unsigned int length) {
  if (buf == NULL) return BAD;
  if (!has(s, k)) return UNSUPPORTED;
  return mock_copy_str(buf, length, key(s, k)->s) ? OK : NVML_ERROR_INSUFFICIENT_SIZE;
}

/* One scenario key → one `unsigned int *` / `unsigned long long *` out-param. */
#define GETTER(fname, type, put, k)                                \
  NVML_EXPORT nvmlReturn_t fname(nvmlDevice_t device, type *out) { \
    struct nvml_device_slot *s;                                    \
    nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s);        \
    if (rc == OK) rc = put(s, k, out);                             \
    return nvml_leave(rc);                                         \
  }

#define STRING_GETTER(fname, k)                                                        \
  NVML_EXPORT nvmlReturn_t fname(nvmlDevice_t device, char *buf, unsigned int length) { \
    struct nvml_device_slot *s;                                                        \
    nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s);                            \
    if (rc == OK) rc = put_str(s, k, buf, length);                                     \
    return nvml_leave(rc);                                                             \
  }

/* Opens a getter body: s is the device; returns early on any entry error. */
#define ENTER                                               \
  struct nvml_device_slot *s;                               \
  nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s);   \
  if (rc != OK) return nvml_leave(rc)

STRING_GETTER(nvmlDeviceGetName, NK_NAME)
STRING_GETTER(nvmlDeviceGetUUID, NK_UUID)
STRING_GETTER(nvmlDeviceGetSerial, NK_SERIAL)
GETTER(nvmlDeviceGetMinorNumber, unsigned int, put_u32, NK_MINOR)
GETTER(nvmlDeviceGetArchitecture, unsigned int, put_u32, NK_ARCH)
GETTER(nvmlDeviceGetPowerUsage, unsigned int, put_u32, NK_POWER_USAGE)
GETTER(nvmlDeviceGetEnforcedPowerLimit, unsigned int, put_u32, NK_POWER_LIMIT)
GETTER(nvmlDeviceGetPowerManagementLimit, unsigned int, put_u32, NK_POWER_LIMIT)
GETTER(nvmlDeviceGetTotalEnergyConsumption, unsigned long long, put_u64, NK_ENERGY)
GETTER(nvmlDeviceGetPerformanceState, unsigned int, put_u32, NK_PSTATE)
GETTER(nvmlDeviceGetCurrentClocksEventReasons, unsigned long long, put_u64, NK_CLOCK_EVENT_REASONS)
GETTER(nvmlDeviceGetCurrentClocksThrottleReasons, unsigned long long, put_u64, NK_CLOCK_EVENT_REASONS)
GETTER(nvmlDeviceGetCurrPcieLinkGeneration, unsigned int, put_u32, NK_PCIE_GEN)
GETTER(nvmlDeviceGetMaxPcieLinkGeneration, unsigned int, put_u32, NK_PCIE_GEN_MAX)
GETTER(nvmlDeviceGetCurrPcieLinkWidth, unsigned int, put_u32, NK_PCIE_WIDTH)
GETTER(nvmlDeviceGetMaxPcieLinkWidth, unsigned int, put_u32, NK_PCIE_WIDTH_MAX)
GETTER(nvmlDeviceGetPcieReplayCounter, unsigned int, put_u32, NK_PCIE_REPLAY)
GETTER(nvmlDeviceGetRetiredPagesPendingStatus, unsigned int, put_u32, NK_RETIRED_PENDING)

NVML_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int *index) {
  ENTER;
  if (index == NULL) return nvml_leave(BAD);
  *index = s->index;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci) {
  ENTER;
  if (pci == NULL) return nvml_leave(BAD);
  if (!has(s, NK_PCI_BUS_ID)) return nvml_leave(UNSUPPORTED);
  const char *id = key(s, NK_PCI_BUS_ID)->s;
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  if (sscanf(id, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4) return nvml_leave(NVML_ERROR_UNKNOWN);
  memset(pci, 0, sizeof *pci);
  snprintf(pci->busId, sizeof pci->busId, "%s", id);
  /* The legacy id has a 4-digit domain: "00000000:18:00.0" → "0000:18:00.0". */
  snprintf(pci->busIdLegacy, sizeof pci->busIdLegacy, "%04x:%02x:%02x.%x", domain & 0xFFFF, bus, dev, fn);
  pci->domain = domain;
  pci->bus = bus;
  pci->device = dev;
  pci->pciDeviceId = (unsigned)val(s, NK_PCI_DEVICE_ID);
  pci->pciSubSystemId = (unsigned)val(s, NK_PCI_SUBSYSTEM_ID);
  return nvml_leave(OK);
}

/* used/free as the two struct versions define them: v1 `used` includes the driver's reservation. */
static void memory_split(const struct nvml_device_slot *s, unsigned long long *used, unsigned long long *reserved,
                         unsigned long long *free_) {
  unsigned long long total = val(s, NK_MEMORY_TOTAL);
  *used = val(s, NK_MEMORY_USED);
  *reserved = val(s, NK_MEMORY_RESERVED);
  unsigned long long taken = *used + *reserved;
  *free_ = taken >= total ? 0 : total - taken;
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  ENTER;
  if (memory == NULL) return nvml_leave(BAD);
  if (!has(s, NK_MEMORY_TOTAL)) return nvml_leave(UNSUPPORTED);
  unsigned long long used, reserved, free_;
  memory_split(s, &used, &reserved, &free_);
  memory->total = val(s, NK_MEMORY_TOTAL);
  memory->free = free_;
  memory->used = memory->total - free_;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
  ENTER;
  if (memory == NULL) return nvml_leave(BAD);
  if (memory->version != NVML_MEMORY_V2_VERSION) return nvml_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  if (!has(s, NK_MEMORY_TOTAL)) return nvml_leave(UNSUPPORTED);
  memory->total = val(s, NK_MEMORY_TOTAL);
  memory_split(s, &memory->used, &memory->reserved, &memory->free);
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *util) {
  ENTER;
  if (util == NULL) return nvml_leave(BAD);
  if (!has(s, NK_UTIL_GPU)) return nvml_leave(UNSUPPORTED);
  util->gpu = (unsigned)val(s, NK_UTIL_GPU);
  util->memory = (unsigned)val(s, NK_UTIL_MEMORY);
  return nvml_leave(OK);
}

/* The driver averages codec utilisation over a window; the mock reports a fixed 1 s one. */
static nvmlReturn_t codec(nvmlDevice_t device, const char *fn, enum nvml_key k, unsigned int *util, unsigned int *period) {
  struct nvml_device_slot *s;
  nvmlReturn_t rc = nvml_enter_dev(fn, device, &s);
  if (rc != OK) return nvml_leave(rc);
  if (util == NULL || period == NULL) return nvml_leave(BAD);
  if (!has(s, k)) return nvml_leave(UNSUPPORTED);
  *util = (unsigned)val(s, k);
  *period = 1000000;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t device, unsigned int *util, unsigned int *period) {
  return codec(device, __func__, NK_UTIL_ENCODER, util, period);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t device, unsigned int *util, unsigned int *period) {
  return codec(device, __func__, NK_UTIL_DECODER, util, period);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, unsigned int sensor, unsigned int *temp) {
  ENTER;
  if (sensor != 0) return nvml_leave(BAD); /* only NVML_TEMPERATURE_GPU exists */
  return nvml_leave(put_u32(s, NK_TEMP_GPU, temp));
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t device, unsigned int type, unsigned int *temp) {
  ENTER;
  switch (type) {
    case 0: return nvml_leave(put_u32(s, NK_TEMP_SHUTDOWN, temp));
    case 1: return nvml_leave(put_u32(s, NK_TEMP_SLOWDOWN, temp));
    case 2: case 3: case 4: case 5: case 6: case 7: return nvml_leave(temp == NULL ? BAD : UNSUPPORTED);
    default: return nvml_leave(BAD);
  }
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, unsigned int type, unsigned int *clock) {
  ENTER;
  switch (type) {
    case 0: return nvml_leave(put_u32(s, NK_CLOCK_GRAPHICS, clock));
    case 1: return nvml_leave(put_u32(s, NK_CLOCK_SM, clock));
    case 2: return nvml_leave(put_u32(s, NK_CLOCK_MEM, clock));
    case 3: return nvml_leave(clock == NULL ? BAD : UNSUPPORTED);
    default: return nvml_leave(BAD);
  }
}

/* Graphics and SM share their maximum on current GPUs; the scenario has only maxClockSm. */
NVML_EXPORT nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t device, unsigned int type, unsigned int *clock) {
  ENTER;
  switch (type) {
    case 0: case 1: return nvml_leave(put_u32(s, NK_MAX_CLOCK_SM, clock));
    case 2: case 3: return nvml_leave(clock == NULL ? BAD : UNSUPPORTED);
    default: return nvml_leave(BAD);
  }
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t device, unsigned int counter, unsigned int *value) {
  ENTER;
  switch (counter) {
    case 0: return nvml_leave(put_u32(s, NK_PCIE_TX, value));
    case 1: return nvml_leave(put_u32(s, NK_PCIE_RX, value));
    default: return nvml_leave(BAD);
  }
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos) {
  ENTER;
  if (infoCount == NULL) return nvml_leave(BAD);
  if (!has(s, NK_PROCESSES)) return nvml_leave(UNSUPPORTED);
  const mock_value *p = key(s, NK_PROCESSES);
  if (*infoCount < p->n) {
    *infoCount = p->n;
    return nvml_leave(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  if (p->n > 0 && infos == NULL) return nvml_leave(BAD);
  for (unsigned j = 0; j < p->n; j++) {
    memset(&infos[j], 0, sizeof infos[j]);
    infos[j].pid = (unsigned)p->a[2 * j];
    infos[j].usedGpuMemory = p->a[2 * j + 1];
    infos[j].gpuInstanceId = 0xFFFFFFFFu; /* not a MIG instance */
    infos[j].computeInstanceId = 0xFFFFFFFFu;
  }
  *infoCount = p->n;
  return nvml_leave(OK);
}
