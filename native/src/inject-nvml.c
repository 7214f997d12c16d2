/*
 * The interposer's NVML entry points: every function the mock exports (the event functions live in
 * inject-nvml-events.c). Each asks the rule file first, then forwards to the real library untouched.
 */
#define _GNU_SOURCE
#include "inject-nvml.h"

nvmlReturn_t inject_nvml_unavailable(enum inject_kind kind) {
  if (inject_real_loaded(INJECT_NVML)) return NVML_ERROR_FUNCTION_NOT_FOUND; /* an older driver without it */
  return kind == INJECT_INIT ? NVML_ERROR_LIBRARY_NOT_FOUND : NVML_ERROR_UNINITIALIZED;
}

static void *index_real;
int inject_nvml_index_of(const void *device) {
  nvmlReturn_t (*real)(nvmlDevice_t, unsigned int *) =
      (nvmlReturn_t(*)(nvmlDevice_t, unsigned int *))inject_real_sym(INJECT_NVML, "nvmlDeviceGetIndex", &index_real);
  unsigned int index;
  if (real == 0 || real((nvmlDevice_t)device, &index) != NVML_SUCCESS || index > 0x7fffffffu) return -1;
  return (int)index;
}

/* ---- init and system ---- */
INJECT_NVML_WRAP(nvmlInit_v2, NVML_TARGET_INIT, (void), ())
INJECT_NVML_WRAP(nvmlInitWithFlags, NVML_TARGET_INIT, (unsigned int flags), (flags))
INJECT_NVML_WRAP(nvmlShutdown, NVML_TARGET_PLAIN, (void), ())
INJECT_NVML_WRAP(nvmlSystemGetDriverVersion, NVML_TARGET_PLAIN, (char *version, unsigned int length), (version, length))
INJECT_NVML_WRAP(nvmlSystemGetNVMLVersion, NVML_TARGET_PLAIN, (char *version, unsigned int length), (version, length))
INJECT_NVML_WRAP(nvmlSystemGetCudaDriverVersion_v2, NVML_TARGET_PLAIN, (int *cudaDriverVersion), (cudaDriverVersion))
INJECT_NVML_WRAP(nvmlDeviceGetCount_v2, NVML_TARGET_PLAIN, (unsigned int *deviceCount), (deviceCount))
INJECT_NVML_WRAP(nvmlDeviceGetHandleByUUID, NVML_TARGET_PLAIN, (const char *uuid, nvmlDevice_t *device), (uuid, device))

/* The index is the device here: a `*` rule on GPU n makes its handle unobtainable, as a lost GPU does. */
#define NVML_TARGET_INDEX {INJECT_DEVICE, INJECT_ID_NONE, index <= 0x7fffffffu ? (int)index : INJECT_ID_NONE, 0, 0}
INJECT_NVML_WRAP(nvmlDeviceGetHandleByIndex_v2, NVML_TARGET_INDEX, (unsigned int index, nvmlDevice_t *device), (index, device))

static const char *const g_error_names[] = {
    "Success", "Uninitialized", "Invalid Argument", "Not Supported", "Insufficient Permissions", "Already Initialized",
    "Not Found", "Insufficient Size", "Insufficient External Power", "Driver Not Loaded", "Timeout",
    "Interrupt Request Issue", "NVML Shared Library Not Found", "Function Not Found", "Corrupted infoROM", "GPU is lost",
};

static void *nvmlErrorString_real;
NVML_EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
  const char *(*real)(nvmlReturn_t) = (const char *(*)(nvmlReturn_t))inject_real_sym(INJECT_NVML, "nvmlErrorString", &nvmlErrorString_real);
  if (real != 0) return real(result);
  /* Without the driver a caller still wants to print the code it got (12 above all). */
  if (result >= 0 && (size_t)result < sizeof g_error_names / sizeof g_error_names[0]) return g_error_names[result];
  return "Unknown Error";
}

/* ---- per-device getters (device = the handle parameter) ---- */
#define DEV NVML_TARGET_DEVICE
#define STRING_GETTER(name) INJECT_NVML_WRAP(name, DEV, (nvmlDevice_t device, char *buf, unsigned int length), (device, buf, length))
#define U32_GETTER(name) INJECT_NVML_WRAP(name, DEV, (nvmlDevice_t device, unsigned int *out), (device, out))
#define U64_GETTER(name) INJECT_NVML_WRAP(name, DEV, (nvmlDevice_t device, unsigned long long *out), (device, out))

STRING_GETTER(nvmlDeviceGetName)
STRING_GETTER(nvmlDeviceGetUUID)
STRING_GETTER(nvmlDeviceGetSerial)
U32_GETTER(nvmlDeviceGetIndex)
U32_GETTER(nvmlDeviceGetMinorNumber)
U32_GETTER(nvmlDeviceGetArchitecture)
U32_GETTER(nvmlDeviceGetPowerUsage)
U32_GETTER(nvmlDeviceGetEnforcedPowerLimit)
U32_GETTER(nvmlDeviceGetPowerManagementLimit)
U32_GETTER(nvmlDeviceGetPerformanceState)
U32_GETTER(nvmlDeviceGetCurrPcieLinkGeneration)
U32_GETTER(nvmlDeviceGetMaxPcieLinkGeneration)
U32_GETTER(nvmlDeviceGetCurrPcieLinkWidth)
U32_GETTER(nvmlDeviceGetMaxPcieLinkWidth)
U32_GETTER(nvmlDeviceGetPcieReplayCounter)
U32_GETTER(nvmlDeviceGetRetiredPagesPendingStatus)
U64_GETTER(nvmlDeviceGetTotalEnergyConsumption)
U64_GETTER(nvmlDeviceGetCurrentClocksEventReasons)
U64_GETTER(nvmlDeviceGetCurrentClocksThrottleReasons)
U64_GETTER(nvmlDeviceGetSupportedEventTypes)

INJECT_NVML_WRAP(nvmlDeviceGetPciInfo_v3, DEV, (nvmlDevice_t device, nvmlPciInfo_t *pci), (device, pci))
INJECT_NVML_WRAP(nvmlDeviceGetMemoryInfo, DEV, (nvmlDevice_t device, nvmlMemory_t *memory), (device, memory))
INJECT_NVML_WRAP(nvmlDeviceGetMemoryInfo_v2, DEV, (nvmlDevice_t device, nvmlMemory_v2_t *memory), (device, memory))
INJECT_NVML_WRAP(nvmlDeviceGetUtilizationRates, DEV, (nvmlDevice_t device, nvmlUtilization_t *util), (device, util))
INJECT_NVML_WRAP(nvmlDeviceGetEncoderUtilization, DEV, (nvmlDevice_t device, unsigned int *util, unsigned int *period), (device, util, period))
INJECT_NVML_WRAP(nvmlDeviceGetDecoderUtilization, DEV, (nvmlDevice_t device, unsigned int *util, unsigned int *period), (device, util, period))
INJECT_NVML_WRAP(nvmlDeviceGetTemperature, DEV, (nvmlDevice_t device, unsigned int sensor, unsigned int *temp), (device, sensor, temp))
INJECT_NVML_WRAP(nvmlDeviceGetTemperatureThreshold, DEV, (nvmlDevice_t device, unsigned int type, unsigned int *temp), (device, type, temp))
INJECT_NVML_WRAP(nvmlDeviceGetClockInfo, DEV, (nvmlDevice_t device, unsigned int type, unsigned int *clock), (device, type, clock))
INJECT_NVML_WRAP(nvmlDeviceGetMaxClockInfo, DEV, (nvmlDevice_t device, unsigned int type, unsigned int *clock), (device, type, clock))
INJECT_NVML_WRAP(nvmlDeviceGetPcieThroughput, DEV, (nvmlDevice_t device, unsigned int counter, unsigned int *value), (device, counter, value))
INJECT_NVML_WRAP(nvmlDeviceGetComputeRunningProcesses_v3, DEV, (nvmlDevice_t device, unsigned int *infoCount, nvmlProcessInfo_t *infos),
                 (device, infoCount, infos))
INJECT_NVML_WRAP(nvmlDeviceGetEccMode, DEV, (nvmlDevice_t device, unsigned int *current, unsigned int *pending), (device, current, pending))
INJECT_NVML_WRAP(nvmlDeviceGetTotalEccErrors, DEV,
                 (nvmlDevice_t device, unsigned int errorType, unsigned int counterType, unsigned long long *count),
                 (device, errorType, counterType, count))
INJECT_NVML_WRAP(nvmlDeviceGetMemoryErrorCounter, DEV,
                 (nvmlDevice_t device, unsigned int errorType, unsigned int counterType, unsigned int location, unsigned long long *count),
                 (device, errorType, counterType, location, count))
INJECT_NVML_WRAP(nvmlDeviceGetRetiredPages, DEV,
                 (nvmlDevice_t device, unsigned int cause, unsigned int *pageCount, unsigned long long *addresses),
                 (device, cause, pageCount, addresses))
INJECT_NVML_WRAP(nvmlDeviceGetRemappedRows, DEV,
                 (nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows, unsigned int *isPending, unsigned int *failureOccurred),
                 (device, corrRows, uncRows, isPending, failureOccurred))
INJECT_NVML_WRAP(nvmlDeviceGetNvLinkState, DEV, (nvmlDevice_t device, unsigned int link, unsigned int *isActive), (device, link, isActive))
INJECT_NVML_WRAP(nvmlDeviceGetNvLinkErrorCounter, DEV,
                 (nvmlDevice_t device, unsigned int link, unsigned int counter, unsigned long long *value), (device, link, counter, value))
INJECT_NVML_WRAP(nvmlDeviceGetFieldValues, DEV, (nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values), (device, valuesCount, values))
