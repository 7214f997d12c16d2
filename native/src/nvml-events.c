/*
 * NVML events: XIDs from the scenario and brixlet_nvml_mock_push_xid go into one log; each event set
 * reads it through its own per-device cursors, so every set registered for a device gets each XID
 * exactly once. An idle wait sleeps on a condition variable until its timeout (no polling).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "nvml-state.h"

#define OK NVML_SUCCESS
#define BAD NVML_ERROR_INVALID_ARGUMENT

#define SUPPORTED_EVENTS (NVML_EVENT_SBE | NVML_EVENT_DBE | NVML_EVENT_XID)

static struct nvml_event_set_slot *set_of(nvmlEventSet_t set) {
  unsigned long long p = (unsigned long long)(size_t)set, lo = (unsigned long long)(size_t)&g_nvml.sets[0];
  if (p < lo || (p - lo) % sizeof g_nvml.sets[0] != 0) return NULL;
  unsigned long long idx = (p - lo) / sizeof g_nvml.sets[0];
  if (idx >= NVML_MAX_EVENT_SETS || !g_nvml.sets[idx].in_use) return NULL;
  return &g_nvml.sets[idx];
}

NVML_EXPORT nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t device, unsigned long long *eventTypes) {
  struct nvml_device_slot *s;
  nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s);
  if (rc != OK) return nvml_leave(rc);
  if (eventTypes == NULL) return nvml_leave(BAD);
  *eventTypes = SUPPORTED_EVENTS;
  return nvml_leave(OK);
}

NVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != OK) return nvml_leave(rc);
  if (set == NULL) return nvml_leave(BAD);
  for (unsigned j = 0; j < NVML_MAX_EVENT_SETS; j++) {
    struct nvml_event_set_slot *e = &g_nvml.sets[j];
    if (e->in_use) continue;
    memset(e, 0, sizeof *e);
    e->in_use = true;
    e->generation = g_nvml.generation;
    *set = e;
    return nvml_leave(OK);
  }
  return nvml_leave(NVML_ERROR_UNKNOWN); /* 64 live sets: a leak in the caller */
}

NVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set) {
  struct nvml_device_slot *s;
  nvmlReturn_t rc = nvml_enter_dev(__func__, device, &s);
  if (rc != OK) return nvml_leave(rc);
  struct nvml_event_set_slot *e = set_of(set);
  if (e == NULL) return nvml_leave(BAD);
  if ((eventTypes & ~SUPPORTED_EVENTS) != 0) return nvml_leave(NVML_ERROR_NOT_SUPPORTED);
  e->mask[s->index] |= eventTypes;
  return nvml_leave(OK);
}

/* The first log entry this set has not delivered yet, for a device it registered XIDs on; -1 if none. */
static long next_entry(struct nvml_event_set_slot *e) {
  if (e->generation != g_nvml.generation) {
    memset(e->cursor, 0, sizeof e->cursor);
    e->generation = g_nvml.generation;
  }
  for (size_t j = 0; j < g_nvml.log_len; j++) {
    unsigned d = g_nvml.log[j].device;
    if ((e->mask[d] & NVML_EVENT_XID) != 0 && j >= e->cursor[d] && d < g_nvml.count) return (long)j;
  }
  return -1;
}

static void deadline_after(struct timespec *t, unsigned int ms) {
  clock_gettime(CLOCK_MONOTONIC, t);
  t->tv_sec += ms / 1000;
  t->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (t->tv_nsec >= 1000000000L) {
    t->tv_sec++;
    t->tv_nsec -= 1000000000L;
  }
}

NVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != OK) return nvml_leave(rc);
  if (data == NULL || set_of(set) == NULL) return nvml_leave(BAD);
  struct timespec deadline;
  deadline_after(&deadline, timeoutms);
  for (;;) {
    /* Re-checked after every wake: shutdown, reset and nvmlEventSetFree all broadcast. */
    if (g_nvml.refcount <= 0) return nvml_leave(NVML_ERROR_UNINITIALIZED);
    struct nvml_event_set_slot *e = set_of(set);
    if (e == NULL) return nvml_leave(BAD);
    long j = next_entry(e);
    if (j >= 0) {
      const nvml_xid_entry *x = &g_nvml.log[j];
      e->cursor[x->device] = (size_t)j + 1;
      memset(data, 0, sizeof *data);
      data->device = &g_nvml.dev[x->device];
      data->eventType = NVML_EVENT_XID;
      data->eventData = x->xid;
      data->gpuInstanceId = 0xFFFFFFFFu;
      data->computeInstanceId = 0xFFFFFFFFu;
      return nvml_leave(OK);
    }
    if (pthread_cond_timedwait(&g_nvml.events, &g_nvml.mu, &deadline) == ETIMEDOUT) {
      /* One last look: an XID pushed right at the deadline must not be lost for this call. */
      e = set_of(set);
      if (e != NULL && g_nvml.refcount > 0 && next_entry(e) >= 0) continue;
      return nvml_leave(NVML_ERROR_TIMEOUT);
    }
  }
}

NVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  nvmlReturn_t rc = nvml_enter(__func__);
  if (rc != OK) return nvml_leave(rc);
  struct nvml_event_set_slot *e = set_of(set);
  if (e == NULL) return nvml_leave(BAD);
  e->in_use = false;
  pthread_cond_broadcast(&g_nvml.events);
  return nvml_leave(OK);
}
