/*
 * The interposer's view of the agent's rule file ($BRIXLET_INJECT_RULES, default /run/brixlet/faults.json;
 * format in docs of issue 4 and native/README.md): return-code rules per vendor and NVML XIDs.
 *
 * Every entry point calls inject_match first. It re-checks the file at most every INJECT_CHECK_MS
 * (a stat when the interval is up, nothing otherwise) and reloads it when its identity changed; a
 * malformed file keeps the previous rules. Matching runs on an immutable, reference-counted snapshot,
 * so threads never wait on a reload and a reload never frees rules another thread is reading.
 */
#ifndef BRIXLET_INJECT_RULES_H
#define BRIXLET_INJECT_RULES_H

#include <stdbool.h>

#define INJECT_CHECK_MS 10
#define INJECT_MAX_FILE (1024 * 1024)
#define INJECT_DEFAULT_RULES "/run/brixlet/faults.json"

enum inject_vendor { INJECT_NVML, INJECT_DCMI };

enum inject_kind {
  INJECT_INIT,   /* nvmlInit_v2, nvmlInitWithFlags, dcmi_init: only a rule naming the function */
  INJECT_PLAIN,  /* no device argument: a rule naming the function whose device (and card) is -1 */
  INJECT_DEVICE  /* takes a device: a rule naming it or "*", device/card -1 or equal */
};

#define INJECT_ID_NONE (-2)       /* the call has no such argument: only rules with -1 there match */
#define INJECT_ID_UNRESOLVED (-3) /* NVML: handle not mapped to its index yet (done on first need) */

typedef struct inject_target {
  enum inject_kind kind;
  int card;                           /* DCMI card id, or INJECT_ID_NONE */
  int device;                         /* NVML index / DCMI device id / INJECT_ID_NONE / INJECT_ID_UNRESOLVED */
  const void *handle;                 /* NVML device handle when device is unresolved */
  int (*resolve)(const void *handle); /* handle → index, or -1 when the real library cannot tell */
} inject_target;

/* True with *code set when a rule decides the call; false = forward it to the real library. */
bool inject_match(enum inject_vendor v, const char *fn, inject_target *t, int *code);

typedef struct inject_xid {
  char *id;
  int device; /* NVML index or -1 = whichever registered device waits first */
  unsigned long long xid;
  long long expires_ms; /* wall clock (unix epoch ms); LLONG_MAX = never (a version-1 entry without expiresAtMs) */
} inject_xid;

/* Offers the current file's XIDs, in file order, to take() until it returns true; returns that. */
bool inject_each_xid(bool (*take)(const inject_xid *x, void *ctx), void *ctx);

#endif
