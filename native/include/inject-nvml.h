/*
 * Shared by the interposer's NVML files: the forwarding wrapper macro and the codes for a missing
 * real library. Every wrapper asks the rules first, then calls the real function with the caller's
 * arguments untouched.
 */
#ifndef BRIXLET_INJECT_NVML_H
#define BRIXLET_INJECT_NVML_H

#include "inject-real.h"
#include "inject-rules.h"
#include "nvml-abi.h"

#define NVML_ERROR_LIBRARY_NOT_FOUND 12
#define NVML_ERROR_FUNCTION_NOT_FOUND 13

/* What a call returns when it cannot be forwarded: init 12, others 1; 13 for a symbol the real library lacks. */
nvmlReturn_t inject_nvml_unavailable(enum inject_kind kind);

/* Handle → NVML index through the real nvmlDeviceGetIndex; -1 when unknown. */
int inject_nvml_index_of(const void *device);

/* Looks up the real function `name` (cached per wrapper) as a pointer of the wrapper's own type. */
#define INJECT_NVML_REAL(name, params) ((nvmlReturn_t(*) params)inject_real_sym(INJECT_NVML, #name, &name##_real))

/* Targets, as object-like macros so that their braces pass through INJECT_NVML_WRAP's arguments. */
#define NVML_TARGET_INIT {INJECT_INIT, INJECT_ID_NONE, INJECT_ID_NONE, 0, 0}
#define NVML_TARGET_PLAIN {INJECT_PLAIN, INJECT_ID_NONE, INJECT_ID_NONE, 0, 0}
#define NVML_TARGET_DEVICE {INJECT_DEVICE, INJECT_ID_NONE, INJECT_ID_UNRESOLVED, device, inject_nvml_index_of}

/* A wrapper whose only job is rule-or-forward. `device` must be the handle parameter's name. */
#define INJECT_NVML_WRAP(name, target, params, args)                                       \
  static void *name##_real;                                                                \
  NVML_EXPORT nvmlReturn_t name params {                                                   \
    inject_target t = target;                                                              \
    int code;                                                                              \
    if (inject_match(INJECT_NVML, #name, &t, &code)) return code;                          \
    nvmlReturn_t(*real) params = INJECT_NVML_REAL(name, params);                           \
    return real != 0 ? real args : inject_nvml_unavailable(t.kind);                        \
  }

#endif
