/*
 * The slice of the NVML ABI the mock implements, declared from the public facts (return codes, enum
 * values, struct sizes and offsets) — not NVIDIA's header. Sizes are checked with static asserts so a
 * wrong layout fails the build instead of a test.
 */
#ifndef BRIXLET_NVML_ABI_H
#define BRIXLET_NVML_ABI_H

#include <stddef.h>

#define NVML_EXPORT __attribute__((visibility("default")))

typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_UNKNOWN = 999
};

/* Handles are opaque to callers; the mock hands out pointers into its own static arrays. */
typedef struct nvml_device_slot *nvmlDevice_t;
typedef struct nvml_event_set_slot *nvmlEventSet_t;

typedef struct {
  unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
  unsigned int version; /* must be NVML_MEMORY_V2_VERSION */
  unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;
#define NVML_MEMORY_V2_VERSION 0x02000028u /* sizeof(nvmlMemory_v2_t) | 2 << 24 */

typedef struct {
  unsigned int gpu, memory;
} nvmlUtilization_t;

typedef struct {
  char busIdLegacy[16];
  unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
  char busId[32];
} nvmlPciInfo_t;

typedef struct {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData;
  unsigned int gpuInstanceId, computeInstanceId;
} nvmlEventData_t;

typedef union {
  double dVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  signed int siVal;
} nvmlValue_t;

typedef struct {
  unsigned int fieldId, scopeId;
  long long timestamp, latencyUsec;
  unsigned int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId, computeInstanceId;
  unsigned long long usedGpuCcProtectedMemory;
} nvmlProcessInfo_t;

_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlPciInfo_t) == 68 && offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t");
_Static_assert(sizeof(nvmlEventData_t) == 32, "nvmlEventData_t");
_Static_assert(sizeof(nvmlFieldValue_t) == 40 && offsetof(nvmlFieldValue_t, value) == 32, "nvmlFieldValue_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 32, "nvmlProcessInfo_t");

/* Enum values used by the getters. */
#define NVML_VALUE_TYPE_UINT 1u
#define NVML_VALUE_TYPE_ULL 3u
#define NVML_EVENT_SBE 0x1ull
#define NVML_EVENT_DBE 0x2ull
#define NVML_EVENT_XID 0x8ull
#define NVML_NVLINK_MAX_LINKS 18u

#define NVML_FI_ECC_SBE_VOL_TOTAL 3u
#define NVML_FI_ECC_DBE_VOL_TOTAL 4u
#define NVML_FI_RETIRED_SBE 29u
#define NVML_FI_RETIRED_DBE 30u
#define NVML_FI_RETIRED_PENDING 31u
#define NVML_FI_MEMORY_TEMP 82u
#define NVML_FI_NVLINK_LINK_COUNT 91u
#define NVML_FI_PCIE_REPLAY_COUNTER 94u
#define NVML_FI_REMAPPED_COR 142u
#define NVML_FI_REMAPPED_UNC 143u
#define NVML_FI_REMAPPED_PENDING 144u
#define NVML_FI_REMAPPED_FAILURE 145u
#define NVML_FI_GPU_RECOVERY_ACTION 230u

#endif
