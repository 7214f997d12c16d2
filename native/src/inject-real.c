/*
 * Lazy access to the real NVML / DCMI libraries for the interposer (see inject-real.h).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "inject-real.h"

struct real_lib {
  const char *env, *fallback, *label, *probe; /* probe: a symbol the library must define */
  pthread_once_t once;
  void *handle;
};

static struct real_lib g_libs[2] = {
    [INJECT_NVML] = {"BRIXLET_INJECT_REAL_NVML", "libnvidia-ml.so.1", "NVML", "nvmlInit_v2", PTHREAD_ONCE_INIT, NULL},
    [INJECT_DCMI] = {"BRIXLET_INJECT_REAL_DCMI", "libdcmi.so", "DCMI", "dcmi_init", PTHREAD_ONCE_INIT, NULL},
};

void inject_log(const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "brixlet inject: %s\n", line); /* one fprintf: lines from several threads do not interleave */
}

dlopen_fn inject_next_dlopen_fn(void) {
  static dlopen_fn next;
  dlopen_fn f = __atomic_load_n(&next, __ATOMIC_ACQUIRE);
  if (f == NULL) {
    f = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
    __atomic_store_n(&next, f, __ATOMIC_RELEASE);
  }
  return f;
}

void *inject_next_dlopen(const char *file, int flags) {
  dlopen_fn f = inject_next_dlopen_fn();
  return f != NULL ? f(file, flags) : NULL;
}

/* Refuses a "real" library that is this interposer (a misconfigured env variable would recurse forever). */
static bool is_self(void *handle, const char *probe) {
  Dl_info theirs, ours;
  void *p = dlsym(handle, probe);
  return p != NULL && dladdr(p, &theirs) != 0 && dladdr((void *)&is_self, &ours) != 0 && theirs.dli_fbase == ours.dli_fbase;
}

static void load(struct real_lib *l) {
  const char *path = getenv(l->env);
  if (path == NULL || *path == '\0') path = l->fallback;
  void *h = inject_next_dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    inject_log("real %s library unavailable (%s); its calls return the library-not-found code", l->label, dlerror());
    return;
  }
  if (is_self(h, l->probe)) {
    inject_log("%s=%s is the interposer itself, not the real %s library", l->env, path, l->label);
    return;
  }
  l->handle = h;
}

static void load_nvml(void) { load(&g_libs[INJECT_NVML]); }
static void load_dcmi(void) { load(&g_libs[INJECT_DCMI]); }

bool inject_real_loaded(enum inject_vendor v) {
  pthread_once(&g_libs[v].once, v == INJECT_NVML ? load_nvml : load_dcmi);
  return g_libs[v].handle != NULL;
}

void *inject_real_sym(enum inject_vendor v, const char *name, void **cache) {
  void *p = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (p != NULL) return p;
  if (!inject_real_loaded(v)) return NULL;
  p = dlsym(g_libs[v].handle, name);
  if (p != NULL) __atomic_store_n(cache, p, __ATOMIC_RELEASE);
  return p;
}
