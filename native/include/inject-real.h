/*
 * The interposer's access to the real vendor libraries. They are opened lazily with the libc dlopen
 * (never through the interposer's own dlopen), RTLD_NOW | RTLD_LOCAL, from $BRIXLET_INJECT_REAL_NVML
 * (default libnvidia-ml.so.1) / $BRIXLET_INJECT_REAL_DCMI (default libdcmi.so), once per process.
 * libbrixlet-inject.so has no DT_NEEDED on either, so preloading it on a host without the driver
 * changes nothing until a program calls NVML/DCMI, which then gets the vendor's not-found code.
 */
#ifndef BRIXLET_INJECT_REAL_H
#define BRIXLET_INJECT_REAL_H

#include <stdbool.h>

#include "inject-rules.h"

/* The real function `name`, cached in *cache; NULL when the library or the symbol is missing. */
void *inject_real_sym(enum inject_vendor v, const char *name, void **cache);

/* Whether the real library could be opened (loads it on first use). */
bool inject_real_loaded(enum inject_vendor v);

/* libc's dlopen, past the interposer's own (the function, or a call through it). */
typedef void *(*dlopen_fn)(const char *file, int flags);
dlopen_fn inject_next_dlopen_fn(void);
void *inject_next_dlopen(const char *file, int flags);

/* Prints one "brixlet inject: ..." line to stderr. */
void inject_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
