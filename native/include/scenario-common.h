/*
 * What both mocks share: a device is a table of typed scenario keys (each present or absent — absent
 * is how a scenario says NOT_SUPPORTED), a map of return-code overrides, per-function call counters
 * and the scenario file reader. Nothing here is exported from the libraries (-fvisibility=hidden).
 */
#ifndef BRIXLET_SCENARIO_COMMON_H
#define BRIXLET_SCENARIO_COMMON_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "json.h"

#define MOCK_MAX_DEVICES 64
#define MOCK_MAX_KEYS 80
#define MOCK_ERR_LEN 512

typedef enum {
  MK_STR,       /* string of at most max bytes */
  MK_UINT,      /* integer in [min, max] (unsigned) */
  MK_INT,       /* integer in [min, max] (signed; min/max read as long long) */
  MK_BOOL,      /* true/false, stored as 0/1 in u */
  MK_LIST_BOOL, /* array of booleans, length in [min, max] */
  MK_LIST_UINT, /* array of unsigned integers, each <= elem_max, length in [min, max] */
  MK_PROCS,     /* array of {pid, usedMemory} */
  MK_RETURNS,   /* object: function name -> return code (merged, not replaced) */
  MK_HANGS      /* object: function name -> milliseconds the call blocks before answering (merged) */
} mock_kind;

typedef struct {
  const char *name;
  mock_kind kind;
  unsigned long long min;
  unsigned long long max;
  unsigned long long elem_max; /* MK_LIST_UINT only */
} mock_key;

typedef struct {
  bool has;
  unsigned long long u; /* MK_UINT, MK_BOOL */
  long long i;          /* MK_INT */
  char *s;              /* MK_STR (heap) */
  unsigned n;           /* list length */
  unsigned long long *a;/* list items; MK_PROCS stores pid, memory pairs (2n) */
} mock_value;

typedef struct {
  char *fn;
  int code;
} mock_return;

typedef struct {
  mock_return *v;
  unsigned n;
} mock_returns;

typedef struct {
  mock_value v[MOCK_MAX_KEYS];
  mock_returns returns;
  mock_returns hangs; /* function -> ms, same map type as returns */
} mock_device;

typedef struct {
  const mock_key *keys;
  unsigned count;
} mock_table;

/* Sets one key from a JSON value; 0, or -1 with a reason in err. A MK_RETURNS key merges. */
int mock_apply_key(const mock_table *t, mock_device *d, const char *key, const json_value *v, char *err, size_t errlen);
/* Applies every member of a JSON object (a device spec or the defaults). */
int mock_apply_object(const mock_table *t, mock_device *d, const json_value *obj, const char *where, char *err, size_t errlen);
void mock_device_clear(mock_device *d);
/* Parses json and sets key on d; JSON null removes the key. 0, or -1 (unknown key, bad JSON, wrong type). */
int mock_set_json(const mock_table *t, mock_device *d, const char *key, const char *json);

/* Returns-map operations. code 0 removes the entry. */
int mock_returns_set(mock_returns *r, const char *fn, int code);
bool mock_returns_get(const mock_returns *r, const char *fn, int *code);
void mock_returns_clear(mock_returns *r);
int mock_returns_apply(mock_returns *r, const json_value *obj, char *err, size_t errlen);
/* The part of a vendor section both mocks load the same way: section-wide `returns`, then `devices`
 * (required, at most MOCK_MAX_DEVICES), each merged over `defaults` (the device's own keys win).
 * device_at(j) returns the j-th device slot; *count receives the number of devices. */
int mock_load_devices(const json_value *sec, const char *prefix, const mock_table *t, mock_returns *returns,
                      mock_device *(*device_at)(size_t j), unsigned *count, char *err);

/* Per-function call counters (the library's own mutex protects them). */
typedef struct {
  const char *fn; /* the __func__ literal of the counted function */
  unsigned long long n;
} mock_counter;

typedef struct {
  mock_counter c[128];
  unsigned used;
  unsigned long long total;
} mock_counters;

/*
 * A `hang` entry: blocks the calling thread for `ms` with `mu` (held on entry) released while it
 * waits, so other calls and the control ABI go on; ends early once *generation changes (a reset or
 * load bumps it and broadcasts `wake`).
 */
void mock_hang(pthread_cond_t *wake, pthread_mutex_t *mu, const unsigned long long *generation, int ms);

void mock_count(mock_counters *c, const char *fn);
unsigned long long mock_count_get(const mock_counters *c, const char *fn);

/* Reads and parses a whole file; NULL with the reason in err. */
json_value *mock_read_json_file(const char *path, char *err, size_t errlen);

/* Copies a string into a caller buffer of len bytes; false when it does not fit with its NUL. */
bool mock_copy_str(char *dst, unsigned len, const char *src);

/* Checks that every member of obj is one of the NULL-terminated names. */
int mock_only_keys(const json_value *obj, const char *const *names, const char *where, char *err, size_t errlen);

#endif
