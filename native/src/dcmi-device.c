/*
 * DCMI per-chip getters, addressed by (card id, device id in card). A missing scenario key is
 * NOT_SUPPORT (-8255), a NULL out-param INVALID_PARAMETER (-8001), an unknown chip -8007.
 */
#include <stdio.h>
#include <string.h>

#include "dcmi-state.h"

#define OK DCMI_OK
#define BAD DCMI_ERR_INVALID_PARAMETER
#define UNSUPPORTED DCMI_ERR_NOT_SUPPORT

#define ENTER                                                  \
  dcmi_chip *c;                                                \
  int rc = dcmi_enter_chip(__func__, card_id, device_id, &c);  \
  if (rc != OK) return dcmi_leave(rc)

static const mock_value *key(const dcmi_chip *c, enum dcmi_key k) { return &c->d.v[k]; }
static bool has(const dcmi_chip *c, enum dcmi_key k) { return c->d.v[k].has; }
static unsigned long long val(const dcmi_chip *c, enum dcmi_key k) { return c->d.v[k].has ? c->d.v[k].u : 0; }

static int put_uint(const dcmi_chip *c, enum dcmi_key k, unsigned int *out) {
  if (out == NULL) return BAD;
  if (!has(c, k)) return UNSUPPORTED;
  *out = (unsigned int)key(c, k)->u;
  return OK;
}

static int put_int(const dcmi_chip *c, enum dcmi_key k, int *out) {
  if (out == NULL) return BAD;
  if (!has(c, k)) return UNSUPPORTED;
  *out = (int)key(c, k)->i;
  return OK;
}

DCMI_EXPORT int dcmi_get_device_type(int card_id, int device_id, int *device_type) {
  ENTER;
  if (device_type == NULL) return dcmi_leave(BAD);
  *device_type = 0; /* NPU */
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_logic_id(int *device_logic_id, int card_id, int device_id) {
  ENTER;
  if (device_logic_id == NULL) return dcmi_leave(BAD);
  *device_logic_id = (int)dcmi_chip_logic(c);
  return dcmi_leave(OK);
}

static void put_text(unsigned char dst[32], const dcmi_chip *c, enum dcmi_key k) {
  memset(dst, 0, 32);
  if (has(c, k)) snprintf((char *)dst, 32, "%s", key(c, k)->s);
}

DCMI_EXPORT int dcmi_get_device_chip_info(int card_id, int device_id, struct dcmi_chip_info *chip_info) {
  ENTER;
  if (chip_info == NULL) return dcmi_leave(BAD);
  if (!has(c, DK_CHIP_NAME)) return dcmi_leave(UNSUPPORTED);
  put_text(chip_info->chip_type, c, DK_CHIP_TYPE);
  put_text(chip_info->chip_name, c, DK_CHIP_NAME);
  put_text(chip_info->chip_ver, c, DK_CHIP_VER);
  chip_info->aicore_cnt = (unsigned)val(c, DK_AICORE_COUNT);
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_pcie_info_v2(int card_id, int device_id, struct dcmi_pcie_info_all *pcie_info) {
  ENTER;
  if (pcie_info == NULL) return dcmi_leave(BAD);
  if (!has(c, DK_PCI_BUS)) return dcmi_leave(UNSUPPORTED);
  memset(pcie_info, 0, sizeof *pcie_info);
  /* Huawei's PCI vendor id and the 910B device id; the scenario only places the chip on the bus. */
  pcie_info->venderid = 0x19e5;
  pcie_info->subvenderid = 0x0200;
  pcie_info->deviceid = 0xd802;
  pcie_info->subdeviceid = 0x3000;
  pcie_info->domain = (int)val(c, DK_PCI_DOMAIN);
  pcie_info->bdf_busid = (unsigned)val(c, DK_PCI_BUS);
  pcie_info->bdf_deviceid = (unsigned)val(c, DK_PCI_DEVICE);
  pcie_info->bdf_funcid = (unsigned)val(c, DK_PCI_FUNC);
  return dcmi_leave(OK);
}

/* VDIE is the scenario's dieId; NDIE is its bitwise complement, so a caller mixing them up notices. */
DCMI_EXPORT int dcmi_get_device_die_v2(int card_id, int device_id, int die_type, struct dcmi_die_id *die_id) {
  ENTER;
  if (die_id == NULL || (die_type != DCMI_DIE_NDIE && die_type != DCMI_DIE_VDIE)) return dcmi_leave(BAD);
  if (!has(c, DK_DIE_ID)) return dcmi_leave(UNSUPPORTED);
  for (unsigned j = 0; j < 5; j++) {
    unsigned w = (unsigned)key(c, DK_DIE_ID)->a[j];
    die_id->soc_die[j] = die_type == DCMI_DIE_VDIE ? w : ~w;
  }
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_health(int card_id, int device_id, unsigned int *health) {
  ENTER;
  return dcmi_leave(put_uint(c, DK_HEALTH, health));
}

/*
 * *error_count is always written (0 when the chip reports nothing or the key is missing) — the
 * real API leaves it alone on some paths and callers then read garbage. It counts the codes copied.
 */
DCMI_EXPORT int dcmi_get_device_errorcode_v2(int card_id, int device_id, int *error_count, unsigned int *error_code_list,
                                             unsigned int list_len) {
  ENTER;
  if (error_count == NULL) return dcmi_leave(BAD);
  *error_count = 0;
  if (!has(c, DK_ERROR_CODES)) return dcmi_leave(UNSUPPORTED);
  const mock_value *v = key(c, DK_ERROR_CODES);
  unsigned n = v->n < list_len ? v->n : list_len;
  if (n > 0 && error_code_list == NULL) return dcmi_leave(BAD);
  for (unsigned j = 0; j < n; j++) error_code_list[j] = (unsigned)v->a[j];
  *error_count = (int)n;
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_errorcode_string(int card_id, int device_id, unsigned int error_code, unsigned char *error_info,
                                                 int buf_size) {
  ENTER;
  if (error_info == NULL || buf_size <= 0) return dcmi_leave(BAD);
  snprintf((char *)error_info, (size_t)buf_size, "simulated Ascend fault 0x%08X", error_code);
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_temperature(int card_id, int device_id, int *temperature) {
  ENTER;
  return dcmi_leave(put_int(c, DK_TEMPERATURE, temperature));
}

DCMI_EXPORT int dcmi_get_device_power_info(int card_id, int device_id, int *power) {
  ENTER;
  return dcmi_leave(put_int(c, DK_POWER, power));
}

DCMI_EXPORT int dcmi_get_device_voltage(int card_id, int device_id, unsigned int *voltage) {
  ENTER;
  return dcmi_leave(put_uint(c, DK_VOLTAGE, voltage));
}

DCMI_EXPORT int dcmi_get_device_frequency(int card_id, int device_id, int type, unsigned int *frequency) {
  ENTER;
  switch (type) {
    case DCMI_FREQ_AICORE_CURRENT: return dcmi_leave(put_uint(c, DK_AICORE_FREQ, frequency));
    case DCMI_FREQ_AICORE_MAX: return dcmi_leave(put_uint(c, DK_AICORE_MAX_FREQ, frequency));
    case DCMI_FREQ_HBM: return dcmi_leave(put_uint(c, DK_HBM_FREQ, frequency));
    default: return dcmi_leave(frequency == NULL ? BAD : UNSUPPORTED);
  }
}

DCMI_EXPORT int dcmi_get_device_hbm_info(int card_id, int device_id, struct dcmi_hbm_info *hbm_info) {
  ENTER;
  if (hbm_info == NULL) return dcmi_leave(BAD);
  if (!has(c, DK_HBM_TOTAL)) return dcmi_leave(UNSUPPORTED);
  memset(hbm_info, 0, sizeof *hbm_info);
  hbm_info->memory_size = val(c, DK_HBM_TOTAL);
  hbm_info->freq = (unsigned)val(c, DK_HBM_FREQ);
  hbm_info->memory_usage = val(c, DK_HBM_USED);
  hbm_info->temp = has(c, DK_HBM_TEMP) ? (int)key(c, DK_HBM_TEMP)->i : 0;
  hbm_info->bandwith_util_rate = (unsigned)val(c, DK_HBM_BW_UTIL);
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_utilization_rate(int card_id, int device_id, int input_type, unsigned int *rate) {
  ENTER;
  switch (input_type) {
    case DCMI_UTIL_AICORE: return dcmi_leave(put_uint(c, DK_UTIL_AICORE, rate));
    case DCMI_UTIL_AICPU: return dcmi_leave(put_uint(c, DK_UTIL_AICPU, rate));
    case DCMI_UTIL_HBM: return dcmi_leave(put_uint(c, DK_UTIL_HBM, rate));
    case DCMI_UTIL_VECTORCORE: return dcmi_leave(put_uint(c, DK_UTIL_VECTORCORE, rate));
    case DCMI_UTIL_NPU: return dcmi_leave(put_uint(c, DK_UTIL_NPU, rate));
    default: return dcmi_leave(rate == NULL ? BAD : UNSUPPORTED);
  }
}

/* Only HBM ECC is simulated; the scenario's counters are both the current and the lifetime totals. */
DCMI_EXPORT int dcmi_get_device_ecc_info(int card_id, int device_id, int input_type, struct dcmi_ecc_info *ecc) {
  ENTER;
  if (ecc == NULL) return dcmi_leave(BAD);
  if (input_type != DCMI_ECC_HBM || (!has(c, DK_ECC_HBM_SINGLE) && !has(c, DK_ECC_HBM_DOUBLE))) return dcmi_leave(UNSUPPORTED);
  memset(ecc, 0, sizeof *ecc);
  ecc->enable_flag = 1;
  ecc->single_bit_error_cnt = ecc->total_single_bit_error_cnt = (unsigned)val(c, DK_ECC_HBM_SINGLE);
  ecc->double_bit_error_cnt = ecc->total_double_bit_error_cnt = (unsigned)val(c, DK_ECC_HBM_DOUBLE);
  return dcmi_leave(OK);
}

DCMI_EXPORT int dcmi_get_device_network_health(int card_id, int device_id, int *result) {
  ENTER;
  if (result == NULL) return dcmi_leave(BAD);
  if (!has(c, DK_NETWORK_HEALTH)) return dcmi_leave(UNSUPPORTED);
  *result = (int)key(c, DK_NETWORK_HEALTH)->u;
  return dcmi_leave(OK);
}
