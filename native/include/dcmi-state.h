/* The DCMI mock's state, shared by its source files (never exported). */
#ifndef BRIXLET_DCMI_STATE_H
#define BRIXLET_DCMI_STATE_H

#include <pthread.h>

#include "dcmi-abi.h"
#include "scenario-common.h"

#define U32MAX 0xFFFFFFFFull
#define U64MAX 0xFFFFFFFFFFFFFFFFull
#define I32MIN ((unsigned long long)(long long)-2147483647 - 1)
#define I32MAX 0x7FFFFFFFull

/* Every NPU device key of the scenario schema (src/accel/scenario.ts): id, JSON name, kind, min, max, item max. */
#define DCMI_KEYS(X)                                              \
  X(DK_CARD_ID, "cardId", MK_UINT, 0, I32MAX, 0)                  \
  X(DK_DEVICE_ID, "deviceId", MK_UINT, 0, I32MAX, 0)              \
  X(DK_LOGIC_ID, "logicId", MK_UINT, 0, U32MAX, 0)                \
  X(DK_PHY_ID, "phyId", MK_UINT, 0, U32MAX, 0)                    \
  X(DK_CHIP_TYPE, "chipType", MK_STR, 0, 31, 0)                   \
  X(DK_CHIP_NAME, "chipName", MK_STR, 0, 31, 0)                   \
  X(DK_CHIP_VER, "chipVer", MK_STR, 0, 31, 0)                     \
  X(DK_AICORE_COUNT, "aicoreCount", MK_UINT, 0, U32MAX, 0)        \
  X(DK_DIE_ID, "dieId", MK_LIST_UINT, 5, 5, U32MAX)               \
  X(DK_HEALTH, "health", MK_UINT, 0, U32MAX, 0)                   \
  X(DK_ERROR_CODES, "errorCodes", MK_LIST_UINT, 0, 128, U32MAX)   \
  X(DK_TEMPERATURE, "temperature", MK_INT, I32MIN, I32MAX, 0)     \
  X(DK_POWER, "powerDeciW", MK_INT, 0, I32MAX, 0)                 \
  X(DK_VOLTAGE, "voltageCentiV", MK_UINT, 0, U32MAX, 0)           \
  X(DK_AICORE_FREQ, "aicoreFreq", MK_UINT, 0, U32MAX, 0)          \
  X(DK_AICORE_MAX_FREQ, "aicoreMaxFreq", MK_UINT, 0, U32MAX, 0)   \
  X(DK_HBM_TOTAL, "hbmTotalMb", MK_UINT, 0, U64MAX, 0)            \
  X(DK_HBM_USED, "hbmUsedMb", MK_UINT, 0, U64MAX, 0)              \
  X(DK_HBM_TEMP, "hbmTemp", MK_INT, I32MIN, I32MAX, 0)            \
  X(DK_HBM_FREQ, "hbmFreq", MK_UINT, 0, U32MAX, 0)                \
  X(DK_HBM_BW_UTIL, "hbmBandwidthUtil", MK_UINT, 0, 100, 0)       \
  X(DK_UTIL_AICORE, "utilAicore", MK_UINT, 0, 100, 0)             \
  X(DK_UTIL_AICPU, "utilAicpu", MK_UINT, 0, 100, 0)               \
  X(DK_UTIL_HBM, "utilHbm", MK_UINT, 0, 100, 0)                   \
  X(DK_UTIL_VECTORCORE, "utilVectorcore", MK_UINT, 0, 100, 0)     \
  X(DK_UTIL_NPU, "utilNpu", MK_UINT, 0, 100, 0)                   \
  X(DK_ECC_HBM_SINGLE, "eccHbmSingle", MK_UINT, 0, U32MAX, 0)     \
  X(DK_ECC_HBM_DOUBLE, "eccHbmDouble", MK_UINT, 0, U32MAX, 0)     \
  X(DK_NETWORK_HEALTH, "networkHealth", MK_UINT, 0, 6, 0)         \
  X(DK_PCI_DOMAIN, "pciDomain", MK_UINT, 0, U32MAX, 0)            \
  X(DK_PCI_BUS, "pciBus", MK_UINT, 0, U32MAX, 0)                  \
  X(DK_PCI_DEVICE, "pciDevice", MK_UINT, 0, U32MAX, 0)            \
  X(DK_PCI_FUNC, "pciFunc", MK_UINT, 0, U32MAX, 0)                \
  X(DK_RETURNS, "returns", MK_RETURNS, 0, 0, 0)                   \
  X(DK_HANG, "hang", MK_HANGS, 0, 0, 0)

#define DCMI_KEY_ENUM(id, name, kind, min, max, emax) id,
enum dcmi_key { DCMI_KEYS(DCMI_KEY_ENUM) DK_COUNT };
_Static_assert(DK_COUNT <= MOCK_MAX_KEYS, "raise MOCK_MAX_KEYS");

/* One NPU chip, pos = its place in dcmi.devices. */
typedef struct {
  unsigned pos;
  mock_device d;
} dcmi_chip;

/* Ids default so a scenario may omit them: card = position, device 0, logic = position, phy = logic. */
int dcmi_chip_card(const dcmi_chip *c);
int dcmi_chip_device(const dcmi_chip *c);
unsigned dcmi_chip_logic(const dcmi_chip *c);
unsigned dcmi_chip_phy(const dcmi_chip *c);

typedef struct {
  pthread_mutex_t mu;
  bool initialised;
  char *path; /* from brixlet_dcmi_mock_load; NULL = the environment variable */
  bool path_set;
  unsigned count;
  dcmi_chip chip[MOCK_MAX_DEVICES];
  mock_returns returns;
  char *driver_version, *dcmi_version;
  mock_counters calls;
  pthread_cond_t wake;            /* signalled on reset and load: ends every `hang` */
  unsigned long long generation;  /* bumped by every scenario (re)load; a hang ends when it changes */
} dcmi_state;

extern dcmi_state g_dcmi;
extern const mock_table dcmi_table;

/* Reads the scenario into g_dcmi; returns the code dcmi_init gives. Lock held. */
int dcmi_scenario_load(void);
void dcmi_state_clear(void);

/* Entry protocol, as in the NVML mock: lock, count, init check, chip lookup, overrides. Lock held after. */
int dcmi_enter(const char *fn);
int dcmi_enter_chip(const char *fn, int card, int device, dcmi_chip **out);
int dcmi_leave(int rc);
dcmi_chip *dcmi_chip_by_logic(unsigned logic);

#endif
