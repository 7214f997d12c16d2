/* Loads the `dcmi` section of a scenario into the DCMI mock's chip table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcmi-state.h"

static mock_device *dcmi_device_at(size_t j) { return &g_dcmi.chip[j].d; }

#define DCMI_KEY_ROW(id, name, kind, min, max, emax) {name, kind, min, max, emax},
static const mock_key dcmi_keys[] = {DCMI_KEYS(DCMI_KEY_ROW)};
const mock_table dcmi_table = {dcmi_keys, DK_COUNT};

static const char *const section_keys[] = {"init", "driverVersion", "dcmiVersion", "returns", "defaults", "devices", NULL};
static const char *const top_keys[] = {"name", "description", "nvml", "dcmi", NULL};

int dcmi_chip_card(const dcmi_chip *c) { return c->d.v[DK_CARD_ID].has ? (int)c->d.v[DK_CARD_ID].u : (int)c->pos; }
int dcmi_chip_device(const dcmi_chip *c) { return c->d.v[DK_DEVICE_ID].has ? (int)c->d.v[DK_DEVICE_ID].u : 0; }
unsigned dcmi_chip_logic(const dcmi_chip *c) { return c->d.v[DK_LOGIC_ID].has ? (unsigned)c->d.v[DK_LOGIC_ID].u : c->pos; }
unsigned dcmi_chip_phy(const dcmi_chip *c) { return c->d.v[DK_PHY_ID].has ? (unsigned)c->d.v[DK_PHY_ID].u : dcmi_chip_logic(c); }

void dcmi_state_clear(void) {
  for (unsigned j = 0; j < MOCK_MAX_DEVICES; j++) {
    mock_device_clear(&g_dcmi.chip[j].d);
    g_dcmi.chip[j].pos = j;
  }
  g_dcmi.count = 0;
  mock_returns_clear(&g_dcmi.returns);
  free(g_dcmi.driver_version);
  free(g_dcmi.dcmi_version);
  g_dcmi.driver_version = g_dcmi.dcmi_version = NULL;
  /* A reload ends every hang early (they wait on `wake` for the generation to move). */
  g_dcmi.generation++;
  pthread_cond_broadcast(&g_dcmi.wake);
}

static int dup_string(const json_value *sec, const char *key, char **out, char *err) {
  const json_value *v = json_get(sec, key);
  if (v == NULL) return 0;
  if (v->type != JSON_STRING || v->len > 63) {
    snprintf(err, MOCK_ERR_LEN, "dcmi.%s: expected a string of at most 63 bytes", key);
    return -1;
  }
  *out = strdup(v->str);
  return *out == NULL ? -1 : 0;
}

/* Two chips with the same (card, device) or logic id would make lookups ambiguous. */
static int check_ids(char *err) {
  for (unsigned a = 0; a < g_dcmi.count; a++) {
    for (unsigned b = a + 1; b < g_dcmi.count; b++) {
      const dcmi_chip *x = &g_dcmi.chip[a], *y = &g_dcmi.chip[b];
      if ((dcmi_chip_card(x) == dcmi_chip_card(y) && dcmi_chip_device(x) == dcmi_chip_device(y)) || dcmi_chip_logic(x) == dcmi_chip_logic(y)) {
        snprintf(err, MOCK_ERR_LEN, "dcmi.devices[%u] and [%u] share a card/device or logic id", a, b);
        return -1;
      }
    }
  }
  return 0;
}

static int load_section(const json_value *root, int *init_rc, char *err) {
  if (root->type != JSON_OBJECT) {
    snprintf(err, MOCK_ERR_LEN, "the scenario is not a JSON object");
    return -1;
  }
  if (mock_only_keys(root, top_keys, "scenario", err, MOCK_ERR_LEN) != 0) return -1;
  const json_value *sec = json_get(root, "dcmi");
  if (sec == NULL) {
    *init_rc = DCMI_ERR_DEVICE_NOT_EXIST; /* like a node without the Ascend driver */
    return 0;
  }
  if (sec->type != JSON_OBJECT) {
    snprintf(err, MOCK_ERR_LEN, "dcmi: expected an object");
    return -1;
  }
  if (mock_only_keys(sec, section_keys, "dcmi", err, MOCK_ERR_LEN) != 0) return -1;
  const json_value *init = json_get(sec, "init");
  if (init != NULL) {
    if (init->type != JSON_NUMBER || init->num_kind == JSON_NUM_REAL || (init->num_kind == JSON_NUM_UINT && init->u > 0x7FFFFFFF) ||
        (init->num_kind == JSON_NUM_INT && init->i < -2147483647LL - 1)) {
      snprintf(err, MOCK_ERR_LEN, "dcmi.init: expected an integer return code");
      return -1;
    }
    *init_rc = init->num_kind == JSON_NUM_UINT ? (int)init->u : (int)init->i;
  }
  if (dup_string(sec, "driverVersion", &g_dcmi.driver_version, err) != 0) return -1;
  if (dup_string(sec, "dcmiVersion", &g_dcmi.dcmi_version, err) != 0) return -1;
  if (mock_load_devices(sec, "dcmi", &dcmi_table, &g_dcmi.returns, dcmi_device_at, &g_dcmi.count, err) != 0) return -1;
  return check_ids(err);
}

int dcmi_scenario_load(void) {
  dcmi_state_clear();
  const char *path = g_dcmi.path_set ? g_dcmi.path : getenv("BRIXLET_MOCK_SCENARIO");
  if (path == NULL || path[0] == '\0') return DCMI_OK; /* no scenario: a node with zero NPUs */
  char err[MOCK_ERR_LEN] = "out of memory";
  json_value *root = mock_read_json_file(path, err, sizeof err);
  int init_rc = DCMI_OK;
  if (root == NULL) {
    fprintf(stderr, "brixlet dcmi mock: cannot load scenario %s\n", err);
    return DCMI_ERR_INNER;
  }
  if (load_section(root, &init_rc, err) != 0) {
    json_free(root);
    dcmi_state_clear();
    fprintf(stderr, "brixlet dcmi mock: invalid scenario %s: %s\n", path, err);
    return DCMI_ERR_INNER;
  }
  json_free(root);
  return init_rc;
}
