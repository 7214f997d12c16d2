/*
 * dlopen interposition, so that programs which dlopen("libnvidia-ml.so.1") / dlopen("libdcmi.so") and
 * dlsym their entry points (pynvml, go-nvml, DCGM) see injected faults too — without touching dlsym.
 *
 * A vendor library name gets a handle to a proxy instead: build/libbrixlet-inject-nvml.so (or -dcmi.so),
 * an empty library whose DT_NEEDED are libbrixlet-inject.so and then the vendor soname. dlsym on that
 * handle searches the proxy's dependency list in order, so the interposer's wrappers win and every
 * function it does not wrap still comes from the real library. The real library is loaded first from
 * $BRIXLET_INJECT_REAL_*, so the proxy's DT_NEEDED binds to that very object by soname.
 *
 * Every other dlopen is a tail call into libc's: glibc takes the caller from the return address
 * (for $ORIGIN and DT_RUNPATH), and a tail call leaves it pointing at the original caller.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inject-real.h"

#define INJECT_EXPORT __attribute__((visibility("default")))

static const char *const g_proxy_names[2] = {[INJECT_NVML] = "libbrixlet-inject-nvml.so", [INJECT_DCMI] = "libbrixlet-inject-dcmi.so"};
static const char *const g_real_env[2] = {[INJECT_NVML] = "BRIXLET_INJECT_REAL_NVML", [INJECT_DCMI] = "BRIXLET_INJECT_REAL_DCMI"};

/* Which vendor library `file` names: by base name, or exactly the configured real path; -1 = neither. */
static int vendor_of(const char *file) {
  const char *base = strrchr(file, '/');
  base = base != NULL ? base + 1 : file;
  if (strcmp(base, "libnvidia-ml.so.1") == 0 || strcmp(base, "libnvidia-ml.so") == 0) return INJECT_NVML;
  if (strcmp(base, "libdcmi.so") == 0) return INJECT_DCMI;
  for (int v = 0; v < 2; v++) {
    const char *real = getenv(g_real_env[v]);
    if (real != NULL && *real != '\0' && strcmp(real, file) == 0) return v;
  }
  return -1;
}

/* The proxy's absolute path: next to this library, as found when first needed. */
static char g_proxy[2][PATH_MAX];
static pthread_once_t g_proxy_once = PTHREAD_ONCE_INIT;

static void find_proxies(void) {
  Dl_info info;
  char self[PATH_MAX];
  if (dladdr((void *)&find_proxies, &info) == 0 || info.dli_fname == NULL || realpath(info.dli_fname, self) == NULL) return;
  char *slash = strrchr(self, '/');
  if (slash == NULL) return;
  *slash = '\0';
  for (int v = 0; v < 2; v++) {
    size_t need = strlen(self) + 1 + strlen(g_proxy_names[v]) + 1;
    if (need <= sizeof g_proxy[v]) snprintf(g_proxy[v], sizeof g_proxy[v], "%s/%s", self, g_proxy_names[v]);
  }
}

static void *open_vendor(int v, const char *file, int flags) {
  /* The real library missing: the program gets exactly what it would get without the interposer. */
  if (!inject_real_loaded((enum inject_vendor)v)) return inject_next_dlopen(file, flags);
  pthread_once(&g_proxy_once, find_proxies);
  void *h = g_proxy[v][0] != '\0' ? inject_next_dlopen(g_proxy[v], flags) : NULL;
  if (h != NULL) return h;
  inject_log("cannot open %s (%s); dlsym users of %s get the real library without injection", g_proxy_names[v], dlerror(), file);
  return inject_next_dlopen(file, flags);
}

INJECT_EXPORT void *dlopen(const char *file, int flags) {
  int v = file != NULL && (flags & RTLD_NOLOAD) == 0 ? vendor_of(file) : -1;
  if (v >= 0) return open_vendor(v, file, flags);
  dlopen_fn next = inject_next_dlopen_fn();
  return next != NULL ? next(file, flags) : NULL; /* must stay a tail call: see the top of this file */
}
