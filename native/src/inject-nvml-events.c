/*
 * The interposer's NVML event functions. Registrations for XidCriticalError are remembered per
 * (event set, device) so that an injected XID reaches exactly the sets a consumer asked for it on;
 * each XID id of the rule file is delivered once per process, through one nvmlEventSetWait_v2 call.
 * With nothing injected pending, the wait goes to the real library with the caller's timeout: the
 * caller blocks as it would without us (no polling), and an XID added meanwhile comes on its next wait.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inject-nvml.h"

#define MAX_REGISTRATIONS 1024

struct registration {
  nvmlEventSet_t set;
  nvmlDevice_t device;
  int index;
};

static pthread_mutex_t g_ev_mu = PTHREAD_MUTEX_INITIALIZER; /* everything below */
static struct registration g_regs[MAX_REGISTRATIONS];
static size_t g_nregs;
static char **g_delivered; /* XID ids already handed out */
static size_t g_ndelivered, g_delivered_cap;

static void forget_set(nvmlEventSet_t set) {
  size_t keep = 0;
  for (size_t i = 0; i < g_nregs; i++)
    if (g_regs[i].set != set) g_regs[keep++] = g_regs[i];
  g_nregs = keep;
}

static void remember(nvmlEventSet_t set, nvmlDevice_t device, int index) {
  for (size_t i = 0; i < g_nregs; i++)
    if (g_regs[i].set == set && g_regs[i].device == device) return;
  if (g_nregs < MAX_REGISTRATIONS) g_regs[g_nregs++] = (struct registration){set, device, index};
}

static bool delivered(const char *id) {
  for (size_t i = 0; i < g_ndelivered; i++)
    if (strcmp(g_delivered[i], id) == 0) return true;
  return false;
}

static bool mark_delivered(const char *id) {
  if (g_ndelivered == g_delivered_cap) {
    size_t cap = g_delivered_cap ? g_delivered_cap * 2 : 16;
    char **grown = realloc(g_delivered, cap * sizeof *grown);
    if (grown == NULL) return false;
    g_delivered = grown;
    g_delivered_cap = cap;
  }
  char *copy = strdup(id);
  if (copy == NULL) return false;
  g_delivered[g_ndelivered++] = copy;
  return true;
}

struct claim {
  nvmlEventSet_t set;
  nvmlEventData_t *data;
};

/* inject_each_xid callback, under g_ev_mu: hands x to the waiting set when it registered x's device. */
static bool take(const inject_xid *x, void *ctx) {
  struct claim *c = ctx;
  if (delivered(x->id)) return false;
  for (size_t i = 0; i < g_nregs; i++) {
    const struct registration *r = &g_regs[i];
    if (r->set != c->set || (x->device != -1 && x->device != r->index)) continue;
    if (!mark_delivered(x->id)) return false; /* out of memory: better late than twice */
    *c->data = (nvmlEventData_t){r->device, NVML_EVENT_XID, x->xid, 0xFFFFFFFFu, 0xFFFFFFFFu};
    return true;
  }
  return false;
}

static void *nvmlEventSetCreate_real;
NVML_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *set) {
  inject_target t = NVML_TARGET_PLAIN;
  int code;
  if (inject_match(INJECT_NVML, __func__, &t, &code)) return code;
  nvmlReturn_t (*real)(nvmlEventSet_t *) = INJECT_NVML_REAL(nvmlEventSetCreate, (nvmlEventSet_t *));
  if (real == 0) return inject_nvml_unavailable(t.kind);
  nvmlReturn_t rc = real(set);
  if (rc == NVML_SUCCESS && set != NULL) {
    pthread_mutex_lock(&g_ev_mu);
    forget_set(*set); /* a library may reuse a freed set's address */
    pthread_mutex_unlock(&g_ev_mu);
  }
  return rc;
}

static void *nvmlDeviceRegisterEvents_real;
NVML_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long eventTypes, nvmlEventSet_t set) {
  inject_target t = NVML_TARGET_DEVICE;
  int code;
  if (inject_match(INJECT_NVML, __func__, &t, &code)) return code;
  nvmlReturn_t (*real)(nvmlDevice_t, unsigned long long, nvmlEventSet_t) =
      INJECT_NVML_REAL(nvmlDeviceRegisterEvents, (nvmlDevice_t, unsigned long long, nvmlEventSet_t));
  if (real == 0) return inject_nvml_unavailable(t.kind);
  nvmlReturn_t rc = real(device, eventTypes, set);
  if (rc == NVML_SUCCESS && (eventTypes & NVML_EVENT_XID) != 0) {
    int index = inject_nvml_index_of(device);
    pthread_mutex_lock(&g_ev_mu);
    remember(set, device, index);
    pthread_mutex_unlock(&g_ev_mu);
  }
  return rc;
}

static void *nvmlEventSetWait_v2_real;
NVML_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutms) {
  inject_target t = NVML_TARGET_PLAIN;
  int code;
  if (inject_match(INJECT_NVML, __func__, &t, &code)) return code;
  if (data != NULL) {
    struct claim c = {set, data};
    pthread_mutex_lock(&g_ev_mu);
    bool got = g_nregs > 0 && inject_each_xid(take, &c);
    pthread_mutex_unlock(&g_ev_mu);
    if (got) return NVML_SUCCESS;
  }
  nvmlReturn_t (*real)(nvmlEventSet_t, nvmlEventData_t *, unsigned int) =
      INJECT_NVML_REAL(nvmlEventSetWait_v2, (nvmlEventSet_t, nvmlEventData_t *, unsigned int));
  return real != 0 ? real(set, data, timeoutms) : inject_nvml_unavailable(t.kind);
}

static void *nvmlEventSetFree_real;
NVML_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  inject_target t = NVML_TARGET_PLAIN;
  int code;
  if (inject_match(INJECT_NVML, __func__, &t, &code)) return code;
  nvmlReturn_t (*real)(nvmlEventSet_t) = INJECT_NVML_REAL(nvmlEventSetFree, (nvmlEventSet_t));
  if (real == 0) return inject_nvml_unavailable(t.kind);
  nvmlReturn_t rc = real(set);
  if (rc == NVML_SUCCESS) {
    pthread_mutex_lock(&g_ev_mu);
    forget_set(set);
    pthread_mutex_unlock(&g_ev_mu);
  }
  return rc;
}
