/* Loads the `nvml` section of a scenario into the NVML mock's device table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvml-state.h"

static mock_device *nvml_device_at(size_t j) { return &g_nvml.dev[j].d; }

#define NVML_KEY_ROW(id, name, kind, min, max, emax) {name, kind, min, max, emax},
static const mock_key nvml_keys[] = {NVML_KEYS(NVML_KEY_ROW)};
const mock_table nvml_table = {nvml_keys, NK_COUNT};

static const char *const section_keys[] = {"init", "driverVersion", "nvmlVersion", "cudaDriverVersion", "returns", "defaults", "devices", "xids", NULL};
static const char *const top_keys[] = {"name", "description", "nvml", "dcmi", NULL};

void nvml_state_clear(void) {
  for (unsigned j = 0; j < MOCK_MAX_DEVICES; j++) {
    mock_device_clear(&g_nvml.dev[j].d);
    g_nvml.dev[j].index = j;
  }
  g_nvml.count = 0;
  mock_returns_clear(&g_nvml.returns);
  free(g_nvml.driver_version);
  free(g_nvml.nvml_version);
  g_nvml.driver_version = g_nvml.nvml_version = NULL;
  g_nvml.has_cuda_version = false;
  free(g_nvml.log);
  g_nvml.log = NULL;
  g_nvml.log_len = g_nvml.log_cap = 0;
  /* Event sets survive (callers hold their handles) but start over on the new log. */
  g_nvml.generation++;
  pthread_cond_broadcast(&g_nvml.events);
}

int nvml_log_push(unsigned device, unsigned long long xid) {
  if (g_nvml.log_len == g_nvml.log_cap) {
    size_t cap = g_nvml.log_cap ? g_nvml.log_cap * 2 : 64;
    nvml_xid_entry *nl = realloc(g_nvml.log, cap * sizeof *nl);
    if (nl == NULL) return -1;
    g_nvml.log = nl;
    g_nvml.log_cap = cap;
  }
  g_nvml.log[g_nvml.log_len].device = device;
  g_nvml.log[g_nvml.log_len].xid = xid;
  g_nvml.log_len++;
  pthread_cond_broadcast(&g_nvml.events);
  return 0;
}

static int dup_string(const json_value *sec, const char *key, char **out, char *err) {
  const json_value *v = json_get(sec, key);
  if (v == NULL) return 0;
  if (v->type != JSON_STRING || v->len > 79) {
    snprintf(err, MOCK_ERR_LEN, "nvml.%s: expected a string of at most 79 bytes", key);
    return -1;
  }
  *out = strdup(v->str);
  return *out == NULL ? -1 : 0;
}

static int load_xids(const json_value *xids, char *err) {
  static const char *const xid_keys[] = {"device", "xid", NULL};
  if (xids->type != JSON_ARRAY) {
    snprintf(err, MOCK_ERR_LEN, "nvml.xids: expected an array");
    return -1;
  }
  for (size_t j = 0; j < xids->count; j++) {
    const json_value *e = &xids->items[j];
    const json_value *dev = json_get(e, "device");
    const json_value *xid = json_get(e, "xid");
    if (e->type != JSON_OBJECT || mock_only_keys(e, xid_keys, "nvml.xids", NULL, 0) != 0 || dev == NULL || xid == NULL ||
        dev->type != JSON_NUMBER || dev->num_kind != JSON_NUM_UINT || xid->type != JSON_NUMBER || xid->num_kind != JSON_NUM_UINT) {
      snprintf(err, MOCK_ERR_LEN, "nvml.xids[%zu]: expected {\"device\": index, \"xid\": number}", j);
      return -1;
    }
    if (dev->u >= g_nvml.count) {
      snprintf(err, MOCK_ERR_LEN, "nvml.xids[%zu]: device %llu does not exist", j, dev->u);
      return -1;
    }
    if (nvml_log_push((unsigned)dev->u, xid->u) != 0) return -1;
  }
  return 0;
}

static int load_section(const json_value *root, int *init_rc, char *err) {
  if (root->type != JSON_OBJECT) {
    snprintf(err, MOCK_ERR_LEN, "the scenario is not a JSON object");
    return -1;
  }
  if (mock_only_keys(root, top_keys, "scenario", err, MOCK_ERR_LEN) != 0) return -1;
  const json_value *sec = json_get(root, "nvml");
  if (sec == NULL) {
    *init_rc = NVML_ERROR_DRIVER_NOT_LOADED; /* like a node without the NVIDIA driver */
    return 0;
  }
  if (sec->type != JSON_OBJECT) {
    snprintf(err, MOCK_ERR_LEN, "nvml: expected an object");
    return -1;
  }
  if (mock_only_keys(sec, section_keys, "nvml", err, MOCK_ERR_LEN) != 0) return -1;
  const json_value *init = json_get(sec, "init");
  if (init != NULL) {
    if (init->type != JSON_NUMBER || init->num_kind == JSON_NUM_REAL || (init->num_kind == JSON_NUM_UINT && init->u > 0x7FFFFFFF)) {
      snprintf(err, MOCK_ERR_LEN, "nvml.init: expected an integer return code");
      return -1;
    }
    *init_rc = init->num_kind == JSON_NUM_UINT ? (int)init->u : (int)init->i;
  }
  if (dup_string(sec, "driverVersion", &g_nvml.driver_version, err) != 0) return -1;
  if (dup_string(sec, "nvmlVersion", &g_nvml.nvml_version, err) != 0) return -1;
  const json_value *cuda = json_get(sec, "cudaDriverVersion");
  if (cuda != NULL) {
    if (cuda->type != JSON_NUMBER || cuda->num_kind != JSON_NUM_UINT || cuda->u > 0x7FFFFFFF) {
      snprintf(err, MOCK_ERR_LEN, "nvml.cudaDriverVersion: expected a non-negative integer");
      return -1;
    }
    g_nvml.has_cuda_version = true;
    g_nvml.cuda_version = (int)cuda->u;
  }
  if (mock_load_devices(sec, "nvml", &nvml_table, &g_nvml.returns, nvml_device_at, &g_nvml.count, err) != 0) return -1;
  const json_value *xids = json_get(sec, "xids");
  if (xids != NULL && load_xids(xids, err) != 0) return -1;
  return 0;
}

int nvml_scenario_load(void) {
  nvml_state_clear();
  const char *path = g_nvml.path_set ? g_nvml.path : getenv("BRIXLET_MOCK_SCENARIO");
  if (path == NULL || path[0] == '\0') return NVML_SUCCESS; /* no scenario: a node with zero GPUs */
  char err[MOCK_ERR_LEN] = "out of memory";
  json_value *root = mock_read_json_file(path, err, sizeof err);
  int init_rc = NVML_SUCCESS;
  if (root == NULL) {
    fprintf(stderr, "brixlet nvml mock: cannot load scenario %s\n", err);
    return NVML_ERROR_UNKNOWN;
  }
  if (load_section(root, &init_rc, err) != 0) {
    json_free(root);
    nvml_state_clear();
    fprintf(stderr, "brixlet nvml mock: invalid scenario %s: %s\n", path, err);
    return NVML_ERROR_UNKNOWN;
  }
  json_free(root);
  return init_rc;
}
