/*
 * DCMI mock: initialisation, versions, card topology, the call-entry protocol and the control ABI.
 * Per-chip getters live in dcmi-device.c.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brixlet-mock.h"
#include "dcmi-state.h"

dcmi_state g_dcmi = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Hangs measure their time on CLOCK_MONOTONIC so a wall-clock jump cannot stretch them. */
__attribute__((constructor)) static void dcmi_mock_setup(void) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&g_dcmi.wake, &attr);
  pthread_condattr_destroy(&attr);
}

static int override(const char *fn, const dcmi_chip *c) {
  int code;
  if (c != NULL && mock_returns_get(&c->d.returns, fn, &code)) return code;
  if (mock_returns_get(&g_dcmi.returns, fn, &code)) return code;
  return DCMI_OK;
}

int dcmi_enter(const char *fn) {
  pthread_mutex_lock(&g_dcmi.mu);
  mock_count(&g_dcmi.calls, fn);
  if (!g_dcmi.initialised) return DCMI_ERR_INNER;
  return override(fn, NULL);
}

static dcmi_chip *chip_at(int card, int device) {
  for (unsigned j = 0; j < g_dcmi.count; j++) {
    if (dcmi_chip_card(&g_dcmi.chip[j]) == card && dcmi_chip_device(&g_dcmi.chip[j]) == device) return &g_dcmi.chip[j];
  }
  return NULL;
}

dcmi_chip *dcmi_chip_by_logic(unsigned logic) {
  for (unsigned j = 0; j < g_dcmi.count; j++) {
    if (dcmi_chip_logic(&g_dcmi.chip[j]) == logic) return &g_dcmi.chip[j];
  }
  return NULL;
}

int dcmi_enter_chip(const char *fn, int card, int device, dcmi_chip **out) {
  pthread_mutex_lock(&g_dcmi.mu);
  mock_count(&g_dcmi.calls, fn);
  if (!g_dcmi.initialised) return DCMI_ERR_INNER;
  dcmi_chip *c = chip_at(card, device);
  if (c == NULL) return DCMI_ERR_INVALID_DEVICE_ID;
  int ms;
  if (mock_returns_get(&c->d.hangs, fn, &ms)) {
    mock_hang(&g_dcmi.wake, &g_dcmi.mu, &g_dcmi.generation, ms);
    /* The world may have changed while the lock was released. */
    if (!g_dcmi.initialised) return DCMI_ERR_INNER;
    if ((c = chip_at(card, device)) == NULL) return DCMI_ERR_INVALID_DEVICE_ID;
  }
  *out = c;
  return override(fn, c);
}

int dcmi_leave(int rc) {
  pthread_mutex_unlock(&g_dcmi.mu);
  return rc;
}

static bool card_exists(int card) {
  for (unsigned j = 0; j < g_dcmi.count; j++) {
    if (dcmi_chip_card(&g_dcmi.chip[j]) == card) return true;
  }
  return false;
}

/* DCMI has no shutdown: a second dcmi_init keeps the state (and any control-ABI changes). */
DCMI_EXPORT int dcmi_init(void) {
  pthread_mutex_lock(&g_dcmi.mu);
  mock_count(&g_dcmi.calls, __func__);
  if (g_dcmi.initialised) return dcmi_leave(DCMI_OK);
  int rc = dcmi_scenario_load();
  if (rc == DCMI_OK) rc = override(__func__, NULL);
  g_dcmi.initialised = rc == DCMI_OK;
  return dcmi_leave(rc);
}

/* field is read only once the lock is held: a reload frees the string. */
static int version(const char *fn, char *const *field, char *buf, unsigned int len) {
  int rc = dcmi_enter(fn);
  const char *value = *field;
  if (rc != DCMI_OK) return dcmi_leave(rc);
  if (buf == NULL) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
  if (value == NULL) return dcmi_leave(DCMI_ERR_NOT_SUPPORT);
  return dcmi_leave(mock_copy_str(buf, len, value) ? DCMI_OK : DCMI_ERR_INVALID_PARAMETER);
}

DCMI_EXPORT int dcmi_get_dcmi_version(char *dcmi_ver, unsigned int len) { return version(__func__, &g_dcmi.dcmi_version, dcmi_ver, len); }

DCMI_EXPORT int dcmi_get_driver_version(char *driver_ver, unsigned int len) { return version(__func__, &g_dcmi.driver_version, driver_ver, len); }

/* Distinct card ids in ascending order; a list too short for all of them is an invalid parameter. */
DCMI_EXPORT int dcmi_get_card_list(int *card_num, int *card_list, int list_len) {
  int rc = dcmi_enter(__func__);
  if (rc != DCMI_OK) return dcmi_leave(rc);
  if (card_num == NULL || (card_list == NULL && list_len > 0) || list_len < 0) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
  int n = 0, last = -1;
  for (;;) {
    int next = -1;
    for (unsigned j = 0; j < g_dcmi.count; j++) {
      int c = dcmi_chip_card(&g_dcmi.chip[j]);
      if (c > last && (next < 0 || c < next)) next = c;
    }
    if (next < 0) break;
    if (n >= list_len) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
    card_list[n++] = next;
    last = next;
  }
  *card_num = n;
  return dcmi_leave(DCMI_OK);
}

static int chips_in_card(int card) {
  int n = 0;
  for (unsigned j = 0; j < g_dcmi.count; j++) n += dcmi_chip_card(&g_dcmi.chip[j]) == card;
  return n;
}

DCMI_EXPORT int dcmi_get_device_num_in_card(int card_id, int *device_num) {
  int rc = dcmi_enter(__func__);
  if (rc != DCMI_OK) return dcmi_leave(rc);
  if (device_num == NULL) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
  if (!card_exists(card_id)) return dcmi_leave(DCMI_ERR_INVALID_DEVICE_ID);
  *device_num = chips_in_card(card_id);
  return dcmi_leave(DCMI_OK);
}

/* Simulated cards carry NPU chips only: no MCU, no CPU (-1). */
DCMI_EXPORT int dcmi_get_device_id_in_card(int card_id, int *device_id_max, int *mcu_id, int *cpu_id) {
  int rc = dcmi_enter(__func__);
  if (rc != DCMI_OK) return dcmi_leave(rc);
  if (device_id_max == NULL || mcu_id == NULL || cpu_id == NULL) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
  if (!card_exists(card_id)) return dcmi_leave(DCMI_ERR_INVALID_DEVICE_ID);
  *device_id_max = chips_in_card(card_id);
  *mcu_id = -1;
  *cpu_id = -1;
  return dcmi_leave(DCMI_OK);
}

DCMI_EXPORT int dcmi_get_device_phyid_from_logicid(unsigned int logicid, unsigned int *phyid) {
  int rc = dcmi_enter(__func__);
  if (rc != DCMI_OK) return dcmi_leave(rc);
  if (phyid == NULL) return dcmi_leave(DCMI_ERR_INVALID_PARAMETER);
  dcmi_chip *c = dcmi_chip_by_logic(logicid);
  if (c == NULL) return dcmi_leave(DCMI_ERR_INVALID_DEVICE_ID);
  rc = override(__func__, c);
  if (rc == DCMI_OK) *phyid = dcmi_chip_phy(c);
  return dcmi_leave(rc);
}

/* ---- control ABI ---- */

BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_load(const char *path) {
  pthread_mutex_lock(&g_dcmi.mu);
  char *copy = path != NULL ? strdup(path) : NULL;
  free(g_dcmi.path);
  g_dcmi.path = copy;
  g_dcmi.path_set = copy != NULL;
  memset(&g_dcmi.calls, 0, sizeof g_dcmi.calls);
  int rc = dcmi_scenario_load();
  if (rc != DCMI_OK) g_dcmi.initialised = false;
  pthread_mutex_unlock(&g_dcmi.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT void brixlet_dcmi_mock_reset(void) {
  pthread_mutex_lock(&g_dcmi.mu);
  memset(&g_dcmi.calls, 0, sizeof g_dcmi.calls);
  if (dcmi_scenario_load() != DCMI_OK) g_dcmi.initialised = false;
  pthread_mutex_unlock(&g_dcmi.mu);
}

BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_set_return(const char *fn, int device, int code) {
  if (fn == NULL) return -1;
  pthread_mutex_lock(&g_dcmi.mu);
  int rc = -1;
  dcmi_chip *c = device >= 0 ? dcmi_chip_by_logic((unsigned)device) : NULL;
  if (device == -1) rc = mock_returns_set(&g_dcmi.returns, fn, code);
  else if (c != NULL) rc = mock_returns_set(&c->d.returns, fn, code);
  pthread_mutex_unlock(&g_dcmi.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT int brixlet_dcmi_mock_set_value(int device, const char *key, const char *json) {
  mock_device scratch;
  memset(&scratch, 0, sizeof scratch);
  int valid = mock_set_json(&dcmi_table, &scratch, key, json);
  mock_device_clear(&scratch);
  if (valid != 0) return -1;
  pthread_mutex_lock(&g_dcmi.mu);
  int rc = -1;
  if (device == -1) {
    rc = 0;
    for (unsigned j = 0; j < g_dcmi.count && rc == 0; j++) rc = mock_set_json(&dcmi_table, &g_dcmi.chip[j].d, key, json);
  } else if (device >= 0) {
    dcmi_chip *c = dcmi_chip_by_logic((unsigned)device);
    if (c != NULL) rc = mock_set_json(&dcmi_table, &c->d, key, json);
  }
  pthread_mutex_unlock(&g_dcmi.mu);
  return rc;
}

BRIXLET_MOCK_EXPORT unsigned long long brixlet_dcmi_mock_call_count(const char *fn) {
  pthread_mutex_lock(&g_dcmi.mu);
  unsigned long long n = mock_count_get(&g_dcmi.calls, fn);
  pthread_mutex_unlock(&g_dcmi.mu);
  return n;
}
