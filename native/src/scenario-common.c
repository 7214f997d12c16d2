/* Typed scenario keys, return overrides, call counters and file reading shared by both mocks. */
#include "scenario-common.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int errf(char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
  if (err != NULL && errlen > 0) snprintf(err, errlen, fmt, a, b);
  return -1;
}

static const char *type_name(const json_value *v) {
  switch (v->type) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "a boolean";
    case JSON_NUMBER: return "a number";
    case JSON_STRING: return "a string";
    case JSON_ARRAY: return "an array";
    default: return "an object";
  }
}

static bool as_uint(const json_value *v, unsigned long long max, unsigned long long *out) {
  if (v->type != JSON_NUMBER || v->num_kind != JSON_NUM_UINT || v->u > max) return false;
  *out = v->u;
  return true;
}

static void value_free(mock_value *mv) {
  free(mv->s);
  free(mv->a);
  memset(mv, 0, sizeof *mv);
}

static int apply_list(const mock_key *k, mock_value *mv, const json_value *v, char *err, size_t errlen) {
  if (v->type != JSON_ARRAY) return errf(err, errlen, "%s: expected an array, got %s", k->name, type_name(v));
  if (v->count < k->min || v->count > k->max) return errf(err, errlen, "%s: %s items", k->name, v->count < k->min ? "too few" : "too many");
  size_t per = k->kind == MK_PROCS ? 2 : 1;
  unsigned long long *a = calloc(v->count * per + 1, sizeof *a);
  if (a == NULL) return errf(err, errlen, "%s: %s", k->name, "out of memory");
  for (size_t j = 0; j < v->count; j++) {
    const json_value *it = &v->items[j];
    bool ok = false;
    if (k->kind == MK_LIST_BOOL) {
      ok = it->type == JSON_BOOL;
      if (ok) a[j] = (unsigned long long)it->boolean;
    } else if (k->kind == MK_LIST_UINT) {
      ok = as_uint(it, k->elem_max, &a[j]);
    } else {
      static const char *const proc_keys[] = {"pid", "usedMemory", NULL};
      const json_value *pid = json_get(it, "pid");
      const json_value *mem = json_get(it, "usedMemory");
      ok = it->type == JSON_OBJECT && mock_only_keys(it, proc_keys, k->name, NULL, 0) == 0 && pid != NULL && mem != NULL &&
           as_uint(pid, UINT_MAX, &a[2 * j]) && as_uint(mem, ULLONG_MAX, &a[2 * j + 1]);
    }
    if (!ok) {
      free(a);
      return errf(err, errlen, "%s: item of the wrong type or out of range%s", k->name, "");
    }
  }
  value_free(mv);
  mv->a = a;
  mv->n = (unsigned)v->count;
  mv->has = true;
  return 0;
}

int mock_apply_key(const mock_table *t, mock_device *d, const char *key, const json_value *v, char *err, size_t errlen) {
  const mock_key *k = NULL;
  unsigned idx = 0;
  for (; idx < t->count; idx++) {
    if (strcmp(t->keys[idx].name, key) == 0) {
      k = &t->keys[idx];
      break;
    }
  }
  if (k == NULL) return errf(err, errlen, "unknown key \"%s\"%s", key, "");
  mock_value *mv = &d->v[idx];
  unsigned long long u;
  switch (k->kind) {
    case MK_STR: {
      if (v->type != JSON_STRING) return errf(err, errlen, "%s: expected a string, got %s", key, type_name(v));
      if (v->len > k->max) return errf(err, errlen, "%s: string too long%s", key, "");
      char *s = strdup(v->str);
      if (s == NULL) return errf(err, errlen, "%s: %s", key, "out of memory");
      value_free(mv);
      mv->s = s;
      break;
    }
    case MK_UINT:
      if (!as_uint(v, k->max, &u) || u < k->min) return errf(err, errlen, "%s: expected an integer in range, got %s", key, type_name(v));
      value_free(mv);
      mv->u = u;
      break;
    case MK_INT: {
      long long lo = (long long)k->min, hi = (long long)k->max, x;
      if (v->type != JSON_NUMBER || v->num_kind == JSON_NUM_REAL) return errf(err, errlen, "%s: expected an integer, got %s", key, type_name(v));
      if (v->num_kind == JSON_NUM_UINT && v->u > (unsigned long long)LLONG_MAX) return errf(err, errlen, "%s: integer out of range%s", key, "");
      x = v->num_kind == JSON_NUM_UINT ? (long long)v->u : v->i;
      if (x < lo || x > hi) return errf(err, errlen, "%s: integer out of range%s", key, "");
      value_free(mv);
      mv->i = x;
      break;
    }
    case MK_BOOL:
      if (v->type != JSON_BOOL) return errf(err, errlen, "%s: expected a boolean, got %s", key, type_name(v));
      value_free(mv);
      mv->u = (unsigned long long)v->boolean;
      break;
    case MK_RETURNS:
      if (mock_returns_apply(&d->returns, v, err, errlen) != 0) return -1;
      break;
    case MK_HANGS:
      if (v->type != JSON_OBJECT) return errf(err, errlen, "%s: expected an object, got %s", key, type_name(v));
      for (size_t j = 0; j < v->count; j++) {
        /* 1 ms to 1 h: long enough to outlast any caller's timeout, short enough to end on its own. */
        if (!as_uint(&v->items[j], 3600000, &u) || u < 1) return errf(err, errlen, "hang.%s: expected milliseconds in 1..3600000%s", v->keys[j], "");
        if (mock_returns_set(&d->hangs, v->keys[j], (int)u) != 0) return errf(err, errlen, "hang.%s: %s", v->keys[j], "out of memory");
      }
      break;
    default:
      if (apply_list(k, mv, v, err, errlen) != 0) return -1;
      break;
  }
  mv->has = true;
  return 0;
}

int mock_apply_object(const mock_table *t, mock_device *d, const json_value *obj, const char *where, char *err, size_t errlen) {
  if (obj->type != JSON_OBJECT) return errf(err, errlen, "%s: expected an object, got %s", where, type_name(obj));
  for (size_t j = 0; j < obj->count; j++) {
    char inner[MOCK_ERR_LEN / 2];
    if (mock_apply_key(t, d, obj->keys[j], &obj->items[j], inner, sizeof inner) != 0) return errf(err, errlen, "%s: %s", where, inner);
  }
  return 0;
}

void mock_device_clear(mock_device *d) {
  for (unsigned j = 0; j < MOCK_MAX_KEYS; j++) value_free(&d->v[j]);
  mock_returns_clear(&d->returns);
  mock_returns_clear(&d->hangs);
}

int mock_set_json(const mock_table *t, mock_device *d, const char *key, const char *json) {
  if (key == NULL || json == NULL) return -1;
  json_value *v = json_parse(json, strlen(json), NULL, 0);
  if (v == NULL) return -1;
  int rc = -1;
  if (v->type != JSON_NULL) {
    rc = mock_apply_key(t, d, key, v, NULL, 0);
  } else {
    for (unsigned idx = 0; idx < t->count; idx++) {
      if (strcmp(t->keys[idx].name, key) != 0) continue;
      if (t->keys[idx].kind == MK_RETURNS) mock_returns_clear(&d->returns);
      if (t->keys[idx].kind == MK_HANGS) mock_returns_clear(&d->hangs);
      value_free(&d->v[idx]);
      rc = 0;
    }
  }
  json_free(v);
  return rc;
}

int mock_returns_set(mock_returns *r, const char *fn, int code) {
  for (unsigned j = 0; j < r->n; j++) {
    if (strcmp(r->v[j].fn, fn) != 0) continue;
    if (code != 0) {
      r->v[j].code = code;
      return 0;
    }
    free(r->v[j].fn);
    r->v[j] = r->v[--r->n];
    return 0;
  }
  if (code == 0) return 0;
  mock_return *nv = realloc(r->v, (r->n + 1) * sizeof *nv);
  if (nv == NULL) return -1;
  r->v = nv;
  char *name = strdup(fn);
  if (name == NULL) return -1;
  r->v[r->n].fn = name;
  r->v[r->n].code = code;
  r->n++;
  return 0;
}

bool mock_returns_get(const mock_returns *r, const char *fn, int *code) {
  for (unsigned j = 0; j < r->n; j++) {
    if (strcmp(r->v[j].fn, fn) == 0) {
      *code = r->v[j].code;
      return true;
    }
  }
  return false;
}

void mock_returns_clear(mock_returns *r) {
  for (unsigned j = 0; j < r->n; j++) free(r->v[j].fn);
  free(r->v);
  r->v = NULL;
  r->n = 0;
}

int mock_returns_apply(mock_returns *r, const json_value *obj, char *err, size_t errlen) {
  if (obj->type != JSON_OBJECT) return errf(err, errlen, "returns: expected an object, got %s%s", type_name(obj), "");
  for (size_t j = 0; j < obj->count; j++) {
    const json_value *c = &obj->items[j];
    long long code;
    if (c->type != JSON_NUMBER || c->num_kind == JSON_NUM_REAL) return errf(err, errlen, "returns.%s: expected an integer%s", obj->keys[j], "");
    code = c->num_kind == JSON_NUM_UINT ? (long long)c->u : c->i;
    if (c->num_kind == JSON_NUM_UINT && c->u > INT_MAX) return errf(err, errlen, "returns.%s: code out of range%s", obj->keys[j], "");
    if (code < INT_MIN) return errf(err, errlen, "returns.%s: code out of range%s", obj->keys[j], "");
    if (mock_returns_set(r, obj->keys[j], (int)code) != 0) return errf(err, errlen, "returns.%s: %s", obj->keys[j], "out of memory");
  }
  return 0;
}

void mock_count(mock_counters *c, const char *fn) {
  c->total++;
  for (unsigned j = 0; j < c->used; j++) {
    if (c->c[j].fn == fn || strcmp(c->c[j].fn, fn) == 0) {
      c->c[j].n++;
      return;
    }
  }
  if (c->used < sizeof c->c / sizeof c->c[0]) {
    c->c[c->used].fn = fn;
    c->c[c->used].n = 1;
    c->used++;
  }
}

unsigned long long mock_count_get(const mock_counters *c, const char *fn) {
  if (fn == NULL) return c->total;
  for (unsigned j = 0; j < c->used; j++) {
    if (strcmp(c->c[j].fn, fn) == 0) return c->c[j].n;
  }
  return 0;
}

json_value *mock_read_json_file(const char *path, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    errf(err, errlen, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 65536;
      char *nb = cap > (64u << 20) ? NULL : realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        errf(err, errlen, "%s: %s", path, "too large or out of memory");
        return NULL;
      }
      buf = nb;
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  int read_error = ferror(f);
  fclose(f);
  if (read_error) {
    free(buf);
    errf(err, errlen, "%s: %s", path, "read error");
    return NULL;
  }
  char inner[MOCK_ERR_LEN / 2];
  json_value *root = json_parse(buf, len, inner, sizeof inner);
  free(buf);
  if (root == NULL) errf(err, errlen, "%s: not JSON: %s", path, inner);
  return root;
}

bool mock_copy_str(char *dst, unsigned len, const char *src) {
  size_t n = strlen(src);
  if (n + 1 > len) return false;
  memcpy(dst, src, n + 1);
  return true;
}

int mock_only_keys(const json_value *obj, const char *const *names, const char *where, char *err, size_t errlen) {
  for (size_t j = 0; j < obj->count; j++) {
    bool known = false;
    for (const char *const *n = names; *n != NULL && !known; n++) known = strcmp(*n, obj->keys[j]) == 0;
    if (!known) return errf(err, errlen, "%s: unknown key \"%s\"", where, obj->keys[j]);
  }
  return 0;
}

int mock_load_devices(const json_value *sec, const char *prefix, const mock_table *t, mock_returns *returns,
                      mock_device *(*device_at)(size_t j), unsigned *count, char *err) {
  char inner[MOCK_ERR_LEN / 2];
  const json_value *r = json_get(sec, "returns");
  if (r != NULL && mock_returns_apply(returns, r, inner, sizeof inner) != 0) {
    snprintf(err, MOCK_ERR_LEN, "%s.%s", prefix, inner);
    return -1;
  }
  const json_value *devices = json_get(sec, "devices");
  const json_value *defaults = json_get(sec, "defaults");
  if (devices == NULL || devices->type != JSON_ARRAY) {
    snprintf(err, MOCK_ERR_LEN, "%s.devices: required, an array", prefix);
    return -1;
  }
  if (devices->count > MOCK_MAX_DEVICES) {
    snprintf(err, MOCK_ERR_LEN, "%s.devices: at most %d devices", prefix, MOCK_MAX_DEVICES);
    return -1;
  }
  char defaults_where[32];
  snprintf(defaults_where, sizeof defaults_where, "%s.defaults", prefix);
  for (size_t j = 0; j < devices->count; j++) {
    mock_device *d = device_at(j);
    char where[48];
    snprintf(where, sizeof where, "%s.devices[%zu]", prefix, j);
    /* defaults first, then the device's own keys win; `returns` maps merge (mock_apply_key). */
    if (defaults != NULL && mock_apply_object(t, d, defaults, defaults_where, err, MOCK_ERR_LEN) != 0) return -1;
    if (mock_apply_object(t, d, &devices->items[j], where, err, MOCK_ERR_LEN) != 0) return -1;
  }
  *count = (unsigned)devices->count;
  return 0;
}

void mock_hang(pthread_cond_t *wake, pthread_mutex_t *mu, const unsigned long long *generation, int ms) {
  unsigned long long started = *generation;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  while (started == *generation) {
    if (pthread_cond_timedwait(wake, mu, &deadline) != 0) break;
  }
}
