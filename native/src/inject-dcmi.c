/*
 * The interposer's DCMI entry points: every function the DCMI mock exports. Rules match card_id and
 * device_id as the caller passes them; the real library missing → -8005 (DCMI's inner error, which
 * is also its "not initialised"), a symbol it lacks → -8255 (not supported).
 */
#define _GNU_SOURCE
#include "dcmi-abi.h"
#include "inject-real.h"
#include "inject-rules.h"

static int unavailable(void) { return inject_real_loaded(INJECT_DCMI) ? DCMI_ERR_NOT_SUPPORT : DCMI_ERR_INNER; }

#define DCMI_TARGET_INIT {INJECT_INIT, INJECT_ID_NONE, INJECT_ID_NONE, 0, 0}
#define DCMI_TARGET_PLAIN {INJECT_PLAIN, INJECT_ID_NONE, INJECT_ID_NONE, 0, 0}
#define DCMI_TARGET_CARD {INJECT_DEVICE, card_id, INJECT_ID_NONE, 0, 0} /* card only: rules with device -1 */
#define DCMI_TARGET_DEVICE {INJECT_DEVICE, card_id, device_id, 0, 0}

#define WRAP(name, target, params, args)                                                              \
  static void *name##_real;                                                                           \
  DCMI_EXPORT int name params {                                                                       \
    inject_target t = target;                                                                         \
    int code;                                                                                         \
    if (inject_match(INJECT_DCMI, #name, &t, &code)) return code;                                     \
    int(*real) params = (int(*) params)inject_real_sym(INJECT_DCMI, #name, &name##_real);             \
    return real != 0 ? real args : unavailable();                                                     \
  }

WRAP(dcmi_init, DCMI_TARGET_INIT, (void), ())
WRAP(dcmi_get_dcmi_version, DCMI_TARGET_PLAIN, (char *dcmi_ver, unsigned int len), (dcmi_ver, len))
WRAP(dcmi_get_driver_version, DCMI_TARGET_PLAIN, (char *driver_ver, unsigned int len), (driver_ver, len))
WRAP(dcmi_get_card_list, DCMI_TARGET_PLAIN, (int *card_num, int *card_list, int list_len), (card_num, card_list, list_len))
WRAP(dcmi_get_device_phyid_from_logicid, DCMI_TARGET_PLAIN, (unsigned int logicid, unsigned int *phyid), (logicid, phyid))
WRAP(dcmi_get_device_num_in_card, DCMI_TARGET_CARD, (int card_id, int *device_num), (card_id, device_num))
WRAP(dcmi_get_device_id_in_card, DCMI_TARGET_CARD, (int card_id, int *device_id_max, int *mcu_id, int *cpu_id),
     (card_id, device_id_max, mcu_id, cpu_id))

#define DEV DCMI_TARGET_DEVICE
WRAP(dcmi_get_device_type, DEV, (int card_id, int device_id, int *device_type), (card_id, device_id, device_type))
WRAP(dcmi_get_device_logic_id, DEV, (int *device_logic_id, int card_id, int device_id), (device_logic_id, card_id, device_id))
WRAP(dcmi_get_device_chip_info, DEV, (int card_id, int device_id, struct dcmi_chip_info *chip_info), (card_id, device_id, chip_info))
WRAP(dcmi_get_device_pcie_info_v2, DEV, (int card_id, int device_id, struct dcmi_pcie_info_all *pcie_info), (card_id, device_id, pcie_info))
WRAP(dcmi_get_device_die_v2, DEV, (int card_id, int device_id, int die_type, struct dcmi_die_id *die_id), (card_id, device_id, die_type, die_id))
WRAP(dcmi_get_device_health, DEV, (int card_id, int device_id, unsigned int *health), (card_id, device_id, health))
WRAP(dcmi_get_device_errorcode_v2, DEV,
     (int card_id, int device_id, int *error_count, unsigned int *error_code_list, unsigned int list_len),
     (card_id, device_id, error_count, error_code_list, list_len))
WRAP(dcmi_get_device_errorcode_string, DEV,
     (int card_id, int device_id, unsigned int error_code, unsigned char *error_info, int buf_size),
     (card_id, device_id, error_code, error_info, buf_size))
WRAP(dcmi_get_device_temperature, DEV, (int card_id, int device_id, int *temperature), (card_id, device_id, temperature))
WRAP(dcmi_get_device_power_info, DEV, (int card_id, int device_id, int *power), (card_id, device_id, power))
WRAP(dcmi_get_device_voltage, DEV, (int card_id, int device_id, unsigned int *voltage), (card_id, device_id, voltage))
WRAP(dcmi_get_device_frequency, DEV, (int card_id, int device_id, int type, unsigned int *frequency), (card_id, device_id, type, frequency))
WRAP(dcmi_get_device_hbm_info, DEV, (int card_id, int device_id, struct dcmi_hbm_info *hbm_info), (card_id, device_id, hbm_info))
WRAP(dcmi_get_device_utilization_rate, DEV, (int card_id, int device_id, int input_type, unsigned int *rate),
     (card_id, device_id, input_type, rate))
WRAP(dcmi_get_device_ecc_info, DEV, (int card_id, int device_id, int input_type, struct dcmi_ecc_info *ecc), (card_id, device_id, input_type, ecc))
WRAP(dcmi_get_device_network_health, DEV, (int card_id, int device_id, int *result), (card_id, device_id, result))
