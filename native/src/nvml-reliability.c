/* NVML reliability getters: ECC, retired pages, remapped rows, NVLink and field values. */
#include <string.h>
#include <time.h>

#include "nvml-state.h"

#define OK NVML_SUCCESS
#define BAD NVML_ERROR_INVALID_ARGUMENT
#define UNSUPPORTED NVML_ERROR_NOT_SUPPORTED

#define ENTER                                             \
  struct nvml_device_slot *s;                             \
  nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s); \
  if (rc != OK) return nvml_leave(rc)

static const mock_value *key(const struct nvml_device_slot *s, enum nvml_key k) { return &s->d.v[k]; }
static bool has(const struct nvml_device_slot *s, enum nvml_key k) { return s->d.v[k].has; }

static nvmlReturn_t put_u64(const struct nvml_device_slot *s, enum nvml_key k, unsigned long long *out) {
  if (out == NULL) return BAD;
  if (!has(s, k)) return UNSUPPORTED;
  *out = key(s, k)->u;
  return OK;
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t device, unsigned int *current, unsigned int *pending) {
  ENTER;
  if (current == NULL || pending == NULL) return nvml_leave(BAD);
  if (!has(s, NK_ECC_ENABLED)) return nvml_leave(UNSUPPORTED);
  *current = *pending = (unsigned)key(s, NK_ECC_ENABLED)->u;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t device, unsigned int errorType, unsigned int counterType,
                                                     unsigned long long *count) {
  static const enum nvml_key keys[2][2] = {{NK_ECC_SBE_VOL, NK_ECC_SBE_AGG}, {NK_ECC_DBE_VOL, NK_ECC_DBE_AGG}};
  ENTER;
  if (errorType > 1 || counterType > 1) return nvml_leave(BAD);
  return nvml_leave(put_u64(s, keys[errorType][counterType], count));
}

/*
 * Only DRAM and SRAM have scenario keys. Every other location and counter reads 0 on an ECC-capable
 * device (eccEnabled present), so consumers summing locations see the scenario's totals.
 */
NVML_EXPORT nvmlReturn_t nvmlDeviceGetMemoryErrorCounter(nvmlDevice_t device, unsigned int errorType, unsigned int counterType,
                                                         unsigned int location, unsigned long long *count) {
  ENTER;
  if (errorType > 1 || counterType > 1 || location > 7) return nvml_leave(BAD);
  if (counterType == 0 && location == 2) return nvml_leave(put_u64(s, errorType ? NK_ECC_DRAM_UNC_VOL : NK_ECC_DRAM_COR_VOL, count));
  if (counterType == 0 && location == 7 && errorType == 1) return nvml_leave(put_u64(s, NK_ECC_SRAM_UNC_VOL, count));
  if (count == NULL) return nvml_leave(BAD);
  if (!has(s, NK_ECC_ENABLED)) return nvml_leave(UNSUPPORTED);
  *count = 0;
  return nvml_leave(OK);
}

/* Deterministic fake page addresses: device, cause and page number are readable in the hex. */
static unsigned long long page_address(unsigned device, unsigned cause, unsigned page) {
  return ((unsigned long long)(device + 1) << 32) | ((unsigned long long)(cause + 1) << 28) | ((unsigned long long)(page + 1) << 12);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t device, unsigned int cause, unsigned int *pageCount,
                                                   unsigned long long *addresses) {
  ENTER;
  if (cause > 1 || pageCount == NULL) return nvml_leave(BAD);
  enum nvml_key k = cause == 0 ? NK_RETIRED_SBE : NK_RETIRED_DBE;
  if (!has(s, k)) return nvml_leave(UNSUPPORTED);
  unsigned n = (unsigned)key(s, k)->u;
  if (*pageCount < n) {
    *pageCount = n;
    return nvml_leave(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  if (n > 0 && addresses == NULL) return nvml_leave(BAD);
  for (unsigned j = 0; j < n; j++) addresses[j] = page_address(s->index, cause, j);
  *pageCount = n;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int *corrRows, unsigned int *uncRows,
                                                   unsigned int *isPending, unsigned int *failureOccurred) {
  ENTER;
  if (corrRows == NULL || uncRows == NULL || isPending == NULL || failureOccurred == NULL) return nvml_leave(BAD);
  /* Supported when the scenario has any of the four keys (row remapping is Ampere and later). */
  if (!has(s, NK_REMAP_COR) && !has(s, NK_REMAP_UNC) && !has(s, NK_REMAP_PENDING) && !has(s, NK_REMAP_FAILURE)) {
    return nvml_leave(UNSUPPORTED);
  }
  *corrRows = (unsigned)key(s, NK_REMAP_COR)->u;
  *uncRows = (unsigned)key(s, NK_REMAP_UNC)->u;
  *isPending = (unsigned)key(s, NK_REMAP_PENDING)->u;
  *failureOccurred = (unsigned)key(s, NK_REMAP_FAILURE)->u;
  return nvml_leave(OK);
}

/* Links a device has: nvlinkActive's length, else the longest counter list; -1 without NVLink keys. */
static int link_count(const struct nvml_device_slot *s) {
  if (has(s, NK_NVLINK_ACTIVE)) return (int)key(s, NK_NVLINK_ACTIVE)->n;
  int n = -1;
  for (enum nvml_key k = NK_NVLINK_CRC_FLIT; k <= NK_NVLINK_RECOVERY; k++) {
    if (has(s, k) && (int)key(s, k)->n > n) n = (int)key(s, k)->n;
  }
  return n;
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkState(nvmlDevice_t device, unsigned int link, unsigned int *isActive) {
  ENTER;
  if (isActive == NULL) return nvml_leave(BAD);
  if (!has(s, NK_NVLINK_ACTIVE)) return nvml_leave(UNSUPPORTED);
  if (link >= key(s, NK_NVLINK_ACTIVE)->n) return nvml_leave(BAD);
  *isActive = (unsigned)key(s, NK_NVLINK_ACTIVE)->a[link];
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetNvLinkErrorCounter(nvmlDevice_t device, unsigned int link, unsigned int counter,
                                                         unsigned long long *value) {
  static const enum nvml_key keys[] = {NK_NVLINK_REPLAY, NK_NVLINK_RECOVERY, NK_NVLINK_CRC_FLIT, NK_NVLINK_CRC_DATA};
  ENTER;
  if (value == NULL || counter > 4) return nvml_leave(BAD);
  if (counter == 4 || !has(s, keys[counter])) return nvml_leave(UNSUPPORTED); /* ECC_DATA has no scenario key */
  if ((int)link >= link_count(s) || link >= NVML_NVLINK_MAX_LINKS) return nvml_leave(BAD);
  const mock_value *v = key(s, keys[counter]);
  *value = link < v->n ? v->a[link] : 0;
  return nvml_leave(OK);
}

/* Value of one field for one device: NVML_SUCCESS with the value, or NOT_SUPPORTED. */
static nvmlReturn_t field(const struct nvml_device_slot *s, nvmlFieldValue_t *f) {
  enum nvml_key k;
  unsigned type = NVML_VALUE_TYPE_UINT;
  switch (f->fieldId) {
    case NVML_FI_ECC_SBE_VOL_TOTAL: k = NK_ECC_SBE_VOL; type = NVML_VALUE_TYPE_ULL; break;
    case NVML_FI_ECC_DBE_VOL_TOTAL: k = NK_ECC_DBE_VOL; type = NVML_VALUE_TYPE_ULL; break;
    case NVML_FI_RETIRED_SBE: k = NK_RETIRED_SBE; type = NVML_VALUE_TYPE_ULL; break;
    case NVML_FI_RETIRED_DBE: k = NK_RETIRED_DBE; type = NVML_VALUE_TYPE_ULL; break;
    case NVML_FI_RETIRED_PENDING: k = NK_RETIRED_PENDING; break;
    case NVML_FI_MEMORY_TEMP: k = NK_TEMP_MEMORY; break;
    case NVML_FI_PCIE_REPLAY_COUNTER: k = NK_PCIE_REPLAY; type = NVML_VALUE_TYPE_ULL; break;
    case NVML_FI_REMAPPED_COR: k = NK_REMAP_COR; break;
    case NVML_FI_REMAPPED_UNC: k = NK_REMAP_UNC; break;
    case NVML_FI_REMAPPED_PENDING: k = NK_REMAP_PENDING; break;
    case NVML_FI_REMAPPED_FAILURE: k = NK_REMAP_FAILURE; break;
    case NVML_FI_GPU_RECOVERY_ACTION: k = NK_RECOVERY_ACTION; break;
    case NVML_FI_NVLINK_LINK_COUNT: {
      int n = link_count(s);
      if (n < 0) return UNSUPPORTED;
      f->valueType = NVML_VALUE_TYPE_UINT;
      f->value.uiVal = (unsigned)n;
      return OK;
    }
    default: return UNSUPPORTED;
  }
  if (!has(s, k)) return UNSUPPORTED;
  f->valueType = type;
  if (type == NVML_VALUE_TYPE_ULL) f->value.ullVal = key(s, k)->u;
  else f->value.uiVal = (unsigned)key(s, k)->u;
  return OK;
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int valuesCount, nvmlFieldValue_t *values) {
  ENTER;
  if (valuesCount < 0 || (valuesCount > 0 && values == NULL)) return nvml_leave(BAD);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
  for (int j = 0; j < valuesCount; j++) {
    nvmlFieldValue_t *f = &values[j];
    memset(&f->value, 0, sizeof f->value);
    f->timestamp = us;
    f->latencyUsec = 0;
    f->nvmlReturn = field(s, f);
  }
  return nvml_leave(OK);
}
