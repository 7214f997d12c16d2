/*
 * The slice of the Huawei DCMI ABI the mock implements, declared from the public facts (return
 * codes, enum values, struct sizes) — not Huawei's header. Sizes are checked at compile time.
 */
#ifndef BRIXLET_DCMI_ABI_H
#define BRIXLET_DCMI_ABI_H

#include <stddef.h>

#define DCMI_EXPORT __attribute__((visibility("default")))

enum {
  DCMI_OK = 0,
  DCMI_ERR_INVALID_PARAMETER = -8001,
  DCMI_ERR_INNER = -8005,          /* also: called before dcmi_init */
  DCMI_ERR_INVALID_DEVICE_ID = -8007,
  DCMI_ERR_DEVICE_NOT_EXIST = -8008,
  DCMI_ERR_NOT_SUPPORT = -8255
};

struct dcmi_chip_info {
  unsigned char chip_type[32];
  unsigned char chip_name[32];
  unsigned char chip_ver[32];
  unsigned int aicore_cnt;
};

struct dcmi_pcie_info_all {
  unsigned int venderid, subvenderid, deviceid, subdeviceid;
  int domain;
  unsigned int bdf_busid, bdf_deviceid, bdf_funcid;
  unsigned char reserve[32];
};

struct dcmi_die_id {
  unsigned int soc_die[5];
};

struct dcmi_hbm_info {
  unsigned long long memory_size; /* MB */
  unsigned int freq;              /* MHz */
  unsigned long long memory_usage;/* MB */
  int temp;                       /* °C */
  unsigned int bandwith_util_rate;/* % (sic) */
};

struct dcmi_ecc_info {
  int enable_flag;
  unsigned int single_bit_error_cnt, double_bit_error_cnt;
  unsigned int total_single_bit_error_cnt, total_double_bit_error_cnt;
  unsigned int single_bit_isolated_pages_cnt, double_bit_isolated_pages_cnt;
};

_Static_assert(sizeof(struct dcmi_chip_info) == 100, "dcmi_chip_info");
_Static_assert(sizeof(struct dcmi_pcie_info_all) == 64, "dcmi_pcie_info_all");
_Static_assert(sizeof(struct dcmi_die_id) == 20, "dcmi_die_id");
_Static_assert(sizeof(struct dcmi_hbm_info) == 32 && offsetof(struct dcmi_hbm_info, memory_usage) == 16 &&
                   offsetof(struct dcmi_hbm_info, temp) == 24 && offsetof(struct dcmi_hbm_info, bandwith_util_rate) == 28,
               "dcmi_hbm_info");
_Static_assert(sizeof(struct dcmi_ecc_info) == 28, "dcmi_ecc_info");

#define DCMI_DIE_NDIE 0
#define DCMI_DIE_VDIE 1
#define DCMI_FREQ_HBM 6
#define DCMI_FREQ_AICORE_CURRENT 7
#define DCMI_FREQ_AICORE_MAX 9
#define DCMI_UTIL_AICORE 2
#define DCMI_UTIL_AICPU 3
#define DCMI_UTIL_HBM 6
#define DCMI_UTIL_VECTORCORE 12
#define DCMI_UTIL_NPU 13
#define DCMI_ECC_HBM 2

#endif
