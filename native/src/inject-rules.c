/*
 * Rule file loading, hot reload and matching for the LD_PRELOAD interposer.
 *
 * Cost on the hot path: a coarse monotonic clock read (vDSO) and, when no check is due, one short
 * mutex section to take a reference on the current snapshot; with rules loaded, one coarse wall-clock
 * read (vDSO) for their expiries. At most one thread per INJECT_CHECK_MS
 * stats the file; only a changed identity (device, inode, size, mtime, ctime) makes it read and parse
 * — the agent replaces the file atomically, so every write gets a new inode.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "inject-real.h"
#include "inject-rules.h"
#include "json.h"

struct return_rule {
  char *fn;
  bool any_fn; /* "*" */
  int card, device, code;
  long long expires_ms; /* wall clock (unix epoch ms); LLONG_MAX = never */
};

struct rules {
  unsigned refs; /* g_mu */
  struct return_rule *ret[2];
  size_t nret[2];
  inject_xid *xids;
  size_t nxids;
};

struct file_id {
  bool present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* guards g_cur and every refs */
static struct rules *g_cur;                              /* NULL = no rules */
static pthread_mutex_t g_reload_mu = PTHREAD_MUTEX_INITIALIZER;
static struct file_id g_seen; /* g_reload_mu: identity of the last file looked at */
static long long g_next_check_ms;

static void rules_free(struct rules *r) {
  if (r == NULL) return;
  for (int v = 0; v < 2; v++) {
    for (size_t i = 0; i < r->nret[v]; i++) free(r->ret[v][i].fn);
    free(r->ret[v]);
  }
  for (size_t i = 0; i < r->nxids; i++) free(r->xids[i].id);
  free(r->xids);
  free(r);
}

static void release(struct rules *r) {
  if (r == NULL) return;
  pthread_mutex_lock(&g_mu);
  bool last = --r->refs == 0;
  pthread_mutex_unlock(&g_mu);
  if (last) rules_free(r);
}

static void publish(struct rules *next) {
  if (next != NULL) next->refs = 1; /* the reference g_cur holds */
  pthread_mutex_lock(&g_mu);
  struct rules *old = g_cur;
  g_cur = next;
  pthread_mutex_unlock(&g_mu);
  release(old);
}

/* ---- parsing: a path in every message, like "nvml.returns[2].code: expected an integer" ---- */

struct parse {
  char err[256];
};

static bool fail(struct parse *p, const char *where, size_t i, const char *field, const char *what) {
  snprintf(p->err, sizeof p->err, "%s[%zu].%s: %s", where, i, field, what);
  return false;
}

static bool get_int(struct parse *p, const json_value *o, const char *where, size_t i, const char *field, long long lo, long long hi,
                    long long *out) {
  const json_value *v = json_get(o, field);
  if (v == NULL) return fail(p, where, i, field, "missing");
  long long n;
  if (v->type == JSON_NUMBER && v->num_kind == JSON_NUM_UINT && v->u <= (unsigned long long)LLONG_MAX) n = (long long)v->u;
  else if (v->type == JSON_NUMBER && v->num_kind == JSON_NUM_INT) n = v->i;
  else return fail(p, where, i, field, "expected an integer");
  if (n < lo || n > hi) return fail(p, where, i, field, "out of range");
  *out = n;
  return true;
}

/* An entry's expiresAtMs. Version 2 files need it on every entry: one without it counts as expired,
 * so a writer that forgets it cannot leave a fault behind that outlives the agent. Version 1 files
 * (older agents) keep their behaviour: no field = no expiry. */
static bool get_expiry(struct parse *p, const json_value *o, const char *where, size_t i, int version, long long *out) {
  if (json_get(o, "expiresAtMs") == NULL) {
    *out = version >= 2 ? 0 : LLONG_MAX;
    return true;
  }
  return get_int(p, o, where, i, "expiresAtMs", 0, LLONG_MAX, out);
}

static bool get_str(struct parse *p, const json_value *o, const char *where, size_t i, const char *field, char **out) {
  const json_value *v = json_get(o, field);
  if (v == NULL || v->type != JSON_STRING || v->len == 0) return fail(p, where, i, field, "expected a non-empty string");
  *out = strdup(v->str);
  return *out != NULL || fail(p, where, i, field, "out of memory");
}

/* section.key as an array, or NULL (absent); *bad when present but not an array. */
static const json_value *array_at(const json_value *root, const char *section, const char *key, struct parse *p, bool *bad) {
  const json_value *s = json_get(root, section);
  if (s == NULL) return NULL;
  if (s->type != JSON_OBJECT) {
    snprintf(p->err, sizeof p->err, "%s: expected an object", section);
    *bad = true;
    return NULL;
  }
  const json_value *a = json_get(s, key);
  if (a != NULL && a->type != JSON_ARRAY) {
    snprintf(p->err, sizeof p->err, "%s.%s: expected an array", section, key);
    *bad = true;
    return NULL;
  }
  return a;
}

static bool parse_returns(struct parse *p, const json_value *a, const char *where, bool dcmi, struct rules *r, int v, int version) {
  if (a == NULL) return true;
  r->ret[v] = calloc(a->count ? a->count : 1, sizeof *r->ret[v]);
  if (r->ret[v] == NULL) return fail(p, where, 0, "", "out of memory");
  for (size_t i = 0; i < a->count; i++) {
    const json_value *o = &a->items[i];
    if (o->type != JSON_OBJECT) return fail(p, where, i, "", "expected an object");
    struct return_rule *x = &r->ret[v][r->nret[v]];
    long long device, card = -1, code;
    char *id;
    if (!get_str(p, o, where, i, "id", &id)) return false;
    free(id); /* ids only matter for XIDs; checked so a broken writer shows */
    if (!get_str(p, o, where, i, "fn", &x->fn)) return false;
    r->nret[v]++; /* owns x->fn from here on */
    if (!get_int(p, o, where, i, "device", -1, INT_MAX, &device)) return false;
    if (dcmi && !get_int(p, o, where, i, "card", -1, INT_MAX, &card)) return false;
    if (!get_int(p, o, where, i, "code", INT_MIN, INT_MAX, &code)) return false;
    if (!get_expiry(p, o, where, i, version, &x->expires_ms)) return false;
    x->any_fn = strcmp(x->fn, "*") == 0;
    x->device = (int)device;
    x->card = (int)card;
    x->code = (int)code;
    if (code == 0) { /* a no-op by contract */
      free(x->fn);
      r->nret[v]--;
    }
  }
  return true;
}

static bool parse_xids(struct parse *p, const json_value *a, struct rules *r, int version) {
  if (a == NULL) return true;
  r->xids = calloc(a->count ? a->count : 1, sizeof *r->xids);
  if (r->xids == NULL) return fail(p, "nvml.xids", 0, "", "out of memory");
  for (size_t i = 0; i < a->count; i++) {
    const json_value *o = &a->items[i];
    if (o->type != JSON_OBJECT) return fail(p, "nvml.xids", i, "", "expected an object");
    inject_xid *x = &r->xids[r->nxids];
    long long device, xid;
    if (!get_str(p, o, "nvml.xids", i, "id", &x->id)) return false;
    r->nxids++;
    if (!get_int(p, o, "nvml.xids", i, "device", -1, INT_MAX, &device)) return false;
    if (!get_int(p, o, "nvml.xids", i, "xid", 1, LLONG_MAX, &xid)) return false;
    if (!get_expiry(p, o, "nvml.xids", i, version, &x->expires_ms)) return false;
    x->device = (int)device;
    x->xid = (unsigned long long)xid;
  }
  return true;
}

/* Unknown keys are ignored so that a newer agent can add fields without disabling older interposers. */
static struct rules *parse_rules(const char *text, size_t len, struct parse *p) {
  json_value *root = json_parse(text, len, p->err, sizeof p->err);
  if (root == NULL) return NULL;
  struct rules *r = calloc(1, sizeof *r);
  bool ok = r != NULL, bad = false;
  const json_value *ver = json_get(root, "version");
  if (ok && (root->type != JSON_OBJECT || ver == NULL || ver->type != JSON_NUMBER || ver->num_kind != JSON_NUM_UINT || ver->u < 1 ||
             ver->u > 2)) {
    snprintf(p->err, sizeof p->err, "version: expected 1 or 2");
    ok = false;
  }
  int version = ok ? (int)ver->u : 0;
  const json_value *nr = ok ? array_at(root, "nvml", "returns", p, &bad) : NULL;
  const json_value *nx = ok && !bad ? array_at(root, "nvml", "xids", p, &bad) : NULL;
  const json_value *dr = ok && !bad ? array_at(root, "dcmi", "returns", p, &bad) : NULL;
  ok = ok && !bad && parse_returns(p, nr, "nvml.returns", false, r, INJECT_NVML, version) && parse_xids(p, nx, r, version) &&
       parse_returns(p, dr, "dcmi.returns", true, r, INJECT_DCMI, version);
  json_free(root);
  if (!ok) rules_free(r), r = NULL;
  return r;
}

/* ---- reload ---- */

static const char *rules_path(void) {
  static const char *path;
  if (path == NULL) { /* g_reload_mu */
    const char *e = getenv("BRIXLET_INJECT_RULES");
    path = e != NULL && *e != '\0' ? e : INJECT_DEFAULT_RULES;
  }
  return path;
}

static struct file_id id_of(const struct stat *st) {
  return (struct file_id){true, st->st_dev, st->st_ino, st->st_size, st->st_mtim, st->st_ctim};
}

static bool same_id(const struct file_id *a, const struct file_id *b) {
  if (a->present != b->present) return false;
  return !a->present || (a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
                         a->mtime.tv_nsec == b->mtime.tv_nsec && a->ctime.tv_sec == b->ctime.tv_sec &&
                         a->ctime.tv_nsec == b->ctime.tv_nsec);
}

/* Reads the file behind fd (at most INJECT_MAX_FILE bytes); NULL with p->err on failure. */
static char *read_all(int fd, size_t *len, struct parse *p) {
  char *buf = malloc(INJECT_MAX_FILE + 1);
  size_t n = 0;
  if (buf == NULL) {
    snprintf(p->err, sizeof p->err, "out of memory");
    return NULL;
  }
  for (;;) {
    ssize_t k = read(fd, buf + n, INJECT_MAX_FILE + 1 - n);
    if (k < 0 && errno == EINTR) continue;
    if (k == 0) break;
    if (k > 0) n += (size_t)k;
    if (k < 0 || n > INJECT_MAX_FILE) {
      if (k < 0) snprintf(p->err, sizeof p->err, "read: %s", strerror(errno));
      else snprintf(p->err, sizeof p->err, "larger than %d bytes", INJECT_MAX_FILE);
      free(buf);
      return NULL;
    }
  }
  *len = n;
  return buf;
}

static void check_file(void) {
  const char *path = rules_path();
  struct stat st;
  if (stat(path, &st) != 0) {
    struct file_id absent = {0};
    if (same_id(&absent, &g_seen)) return;
    if (errno != ENOENT) inject_log("cannot stat rule file %s: %s; no rules apply", path, strerror(errno));
    g_seen = absent;
    publish(NULL); /* no file = the agent has no faults for us (or has gone) */
    return;
  }
  struct file_id now = id_of(&st);
  if (same_id(&now, &g_seen)) return;
  struct parse p = {{0}};
  struct rules *r = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(p.err, sizeof p.err, "open: %s", strerror(errno));
  } else {
    if (fstat(fd, &st) == 0) now = id_of(&st); /* the version actually read */
    size_t len;
    char *text = read_all(fd, &len, &p);
    close(fd);
    if (text != NULL) r = parse_rules(text, len, &p);
    free(text);
  }
  g_seen = now;
  if (r != NULL) publish(r);
  else inject_log("ignoring rule file %s: %s; keeping the previous rules", path, p.err);
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Expiries are absolute wall-clock times written by the agent: checked on every call, so a rule ends
 * on time even when the file never changes again (the agent was killed). */
static long long wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void refresh(void) {
  long long now = now_ms(), due = __atomic_load_n(&g_next_check_ms, __ATOMIC_RELAXED);
  if (now < due) return;
  if (!__atomic_compare_exchange_n(&g_next_check_ms, &due, now + INJECT_CHECK_MS, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) return;
  if (pthread_mutex_trylock(&g_reload_mu) != 0) return; /* another thread is reloading: use what is there */
  check_file();
  pthread_mutex_unlock(&g_reload_mu);
}

static struct rules *acquire(void) {
  refresh();
  pthread_mutex_lock(&g_mu);
  struct rules *r = g_cur;
  if (r != NULL) r->refs++;
  pthread_mutex_unlock(&g_mu);
  return r;
}

/* ---- matching ---- */

bool inject_match(enum inject_vendor v, const char *fn, inject_target *t, int *code) {
  struct rules *r = acquire();
  bool hit = false;
  long long wall = r != NULL && r->nret[v] > 0 ? wall_ms() : 0;
  for (size_t i = 0; r != NULL && i < r->nret[v] && !hit; i++) {
    const struct return_rule *x = &r->ret[v][i];
    if (x->expires_ms <= wall) continue;
    if (!(x->any_fn && t->kind == INJECT_DEVICE) && strcmp(x->fn, fn) != 0) continue;
    if (t->kind != INJECT_INIT) {
      if (x->card != -1 && x->card != t->card) continue;
      if (x->device != -1 && t->device == INJECT_ID_UNRESOLVED) {
        int idx = t->resolve != NULL ? t->resolve(t->handle) : -1;
        t->device = idx >= 0 ? idx : INJECT_ID_NONE;
      }
      if (x->device != -1 && x->device != t->device) continue;
    }
    *code = x->code;
    hit = true;
  }
  release(r);
  return hit;
}

bool inject_each_xid(bool (*take)(const inject_xid *x, void *ctx), void *ctx) {
  struct rules *r = acquire();
  bool taken = false;
  long long wall = r != NULL && r->nxids > 0 ? wall_ms() : 0;
  for (size_t i = 0; r != NULL && i < r->nxids && !taken; i++) taken = r->xids[i].expires_ms > wall && take(&r->xids[i], ctx);
  release(r);
  return taken;
}
