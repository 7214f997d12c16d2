/* The NVML mock's state, shared by its source files (never exported). */
#ifndef BRIXLET_NVML_STATE_H
#define BRIXLET_NVML_STATE_H

#include <pthread.h>

#include "nvml-abi.h"
#include "scenario-common.h"

#define U32MAX 0xFFFFFFFFull
#define U64MAX 0xFFFFFFFFFFFFFFFFull

/* Every NVML device key of the scenario schema (src/accel/scenario.ts): id, JSON name, kind, min, max, item max. */
#define NVML_KEYS(X)                                                 \
  X(NK_NAME, "name", MK_STR, 0, 95, 0)                               \
  X(NK_UUID, "uuid", MK_STR, 0, 95, 0)                               \
  X(NK_SERIAL, "serial", MK_STR, 0, 29, 0)                           \
  X(NK_PCI_BUS_ID, "pciBusId", MK_STR, 0, 31, 0)                     \
  X(NK_PCI_DEVICE_ID, "pciDeviceId", MK_UINT, 0, U32MAX, 0)          \
  X(NK_PCI_SUBSYSTEM_ID, "pciSubSystemId", MK_UINT, 0, U32MAX, 0)    \
  X(NK_ARCH, "arch", MK_UINT, 0, U32MAX, 0)                          \
  X(NK_MINOR, "minor", MK_UINT, 0, U32MAX, 0)                        \
  X(NK_MEMORY_TOTAL, "memoryTotal", MK_UINT, 0, U64MAX, 0)           \
  X(NK_MEMORY_USED, "memoryUsed", MK_UINT, 0, U64MAX, 0)             \
  X(NK_MEMORY_RESERVED, "memoryReserved", MK_UINT, 0, U64MAX, 0)     \
  X(NK_UTIL_GPU, "utilGpu", MK_UINT, 0, 100, 0)                      \
  X(NK_UTIL_MEMORY, "utilMemory", MK_UINT, 0, 100, 0)                \
  X(NK_UTIL_ENCODER, "utilEncoder", MK_UINT, 0, 100, 0)              \
  X(NK_UTIL_DECODER, "utilDecoder", MK_UINT, 0, 100, 0)              \
  X(NK_TEMP_GPU, "tempGpu", MK_UINT, 0, U32MAX, 0)                   \
  X(NK_TEMP_MEMORY, "tempMemory", MK_UINT, 0, U32MAX, 0)             \
  X(NK_TEMP_SLOWDOWN, "tempSlowdown", MK_UINT, 0, U32MAX, 0)         \
  X(NK_TEMP_SHUTDOWN, "tempShutdown", MK_UINT, 0, U32MAX, 0)         \
  X(NK_POWER_USAGE, "powerUsageMw", MK_UINT, 0, U32MAX, 0)           \
  X(NK_POWER_LIMIT, "powerLimitMw", MK_UINT, 0, U32MAX, 0)           \
  X(NK_ENERGY, "energyMj", MK_UINT, 0, U64MAX, 0)                    \
  X(NK_CLOCK_GRAPHICS, "clockGraphics", MK_UINT, 0, U32MAX, 0)       \
  X(NK_CLOCK_SM, "clockSm", MK_UINT, 0, U32MAX, 0)                   \
  X(NK_CLOCK_MEM, "clockMem", MK_UINT, 0, U32MAX, 0)                 \
  X(NK_MAX_CLOCK_SM, "maxClockSm", MK_UINT, 0, U32MAX, 0)            \
  X(NK_PSTATE, "pstate", MK_UINT, 0, 32, 0)                          \
  X(NK_CLOCK_EVENT_REASONS, "clockEventReasons", MK_UINT, 0, U64MAX, 0) \
  X(NK_PCIE_GEN, "pcieGen", MK_UINT, 0, U32MAX, 0)                   \
  X(NK_PCIE_GEN_MAX, "pcieGenMax", MK_UINT, 0, U32MAX, 0)            \
  X(NK_PCIE_WIDTH, "pcieWidth", MK_UINT, 0, U32MAX, 0)               \
  X(NK_PCIE_WIDTH_MAX, "pcieWidthMax", MK_UINT, 0, U32MAX, 0)        \
  X(NK_PCIE_TX, "pcieTxKBps", MK_UINT, 0, U32MAX, 0)                 \
  X(NK_PCIE_RX, "pcieRxKBps", MK_UINT, 0, U32MAX, 0)                 \
  X(NK_PCIE_REPLAY, "pcieReplay", MK_UINT, 0, U32MAX, 0)             \
  X(NK_ECC_ENABLED, "eccEnabled", MK_BOOL, 0, 1, 0)                  \
  X(NK_ECC_SBE_VOL, "eccSbeVolatile", MK_UINT, 0, U64MAX, 0)         \
  X(NK_ECC_DBE_VOL, "eccDbeVolatile", MK_UINT, 0, U64MAX, 0)         \
  X(NK_ECC_SBE_AGG, "eccSbeAggregate", MK_UINT, 0, U64MAX, 0)        \
  X(NK_ECC_DBE_AGG, "eccDbeAggregate", MK_UINT, 0, U64MAX, 0)        \
  X(NK_ECC_SRAM_UNC_VOL, "eccSramUncorrectedVolatile", MK_UINT, 0, U64MAX, 0) \
  X(NK_ECC_DRAM_UNC_VOL, "eccDramUncorrectedVolatile", MK_UINT, 0, U64MAX, 0) \
  X(NK_ECC_DRAM_COR_VOL, "eccDramCorrectedVolatile", MK_UINT, 0, U64MAX, 0)   \
  X(NK_RETIRED_SBE, "retiredSbe", MK_UINT, 0, U32MAX, 0)             \
  X(NK_RETIRED_DBE, "retiredDbe", MK_UINT, 0, U32MAX, 0)             \
  X(NK_RETIRED_PENDING, "retiredPending", MK_BOOL, 0, 1, 0)          \
  X(NK_REMAP_COR, "remappedCorrectable", MK_UINT, 0, U32MAX, 0)      \
  X(NK_REMAP_UNC, "remappedUncorrectable", MK_UINT, 0, U32MAX, 0)    \
  X(NK_REMAP_PENDING, "remapPending", MK_BOOL, 0, 1, 0)              \
  X(NK_REMAP_FAILURE, "remapFailure", MK_BOOL, 0, 1, 0)              \
  X(NK_NVLINK_ACTIVE, "nvlinkActive", MK_LIST_BOOL, 0, 18, 1)        \
  X(NK_NVLINK_CRC_FLIT, "nvlinkCrcFlit", MK_LIST_UINT, 0, 18, U64MAX) \
  X(NK_NVLINK_CRC_DATA, "nvlinkCrcData", MK_LIST_UINT, 0, 18, U64MAX) \
  X(NK_NVLINK_REPLAY, "nvlinkReplay", MK_LIST_UINT, 0, 18, U64MAX)   \
  X(NK_NVLINK_RECOVERY, "nvlinkRecovery", MK_LIST_UINT, 0, 18, U64MAX) \
  X(NK_RECOVERY_ACTION, "recoveryAction", MK_UINT, 0, 4, 0)          \
  X(NK_PROCESSES, "processes", MK_PROCS, 0, 64, 0)                   \
  X(NK_RETURNS, "returns", MK_RETURNS, 0, 0, 0)                     \
  X(NK_HANG, "hang", MK_HANGS, 0, 0, 0)

#define NVML_KEY_ENUM(id, name, kind, min, max, emax) id,
enum nvml_key { NVML_KEYS(NVML_KEY_ENUM) NK_COUNT };
_Static_assert(NK_COUNT <= MOCK_MAX_KEYS, "raise MOCK_MAX_KEYS");

struct nvml_device_slot {
  unsigned index;
  mock_device d;
};

#define NVML_MAX_EVENT_SETS 64

struct nvml_event_set_slot {
  bool in_use;
  unsigned long long mask[MOCK_MAX_DEVICES]; /* registered event types per device index */
  size_t cursor[MOCK_MAX_DEVICES];           /* next log entry this set has not seen, per device */
  unsigned long long generation;             /* log generation the cursors refer to */
};

typedef struct {
  unsigned device;
  unsigned long long xid;
} nvml_xid_entry;

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t events; /* signalled on every pushed XID, shutdown, reset and set free */
  int refcount;          /* > 0: initialised */
  char *path;            /* from brixlet_nvml_mock_load; NULL = the environment variable */
  bool path_set;
  /* The loaded scenario. */
  unsigned count;
  struct nvml_device_slot dev[MOCK_MAX_DEVICES];
  mock_returns returns;
  char *driver_version, *nvml_version;
  bool has_cuda_version;
  int cuda_version;
  /* XID log: append-only between loads; each event set keeps its own cursors into it. */
  nvml_xid_entry *log;
  size_t log_len, log_cap;
  unsigned long long generation;
  struct nvml_event_set_slot sets[NVML_MAX_EVENT_SETS];
  mock_counters calls;
} nvml_state;

extern nvml_state g_nvml;
extern const mock_table nvml_table;

/* Reads the scenario (path or BRIXLET_MOCK_SCENARIO) into g_nvml; returns the code nvmlInit gives. Lock held. */
int nvml_scenario_load(void);
/* Appends to the XID log and wakes waiters; -1 when out of memory. Lock held. */
int nvml_log_push(unsigned device, unsigned long long xid);
/* Drops the scenario, the XID log and the event cursors. Lock held. */
void nvml_state_clear(void);

/*
 * Entry protocol of every exported function: lock, count the call, check initialisation (and the
 * handle when given), then the return overrides. Returns NVML_SUCCESS to go on; the lock is held
 * in every case until nvml_leave().
 */
nvmlReturn_t nvml_enter(const char *fn);
nvmlReturn_t nvml_enter_dev(const char *fn, nvmlDevice_t device, struct nvml_device_slot **out);
nvmlReturn_t nvml_leave(nvmlReturn_t rc);
/* A return override for fn on this device (or globally when dev is NULL); 0 when none. */
int nvml_override(const char *fn, const struct nvml_device_slot *dev);

#endif
