/* Strict recursive-descent JSON parser; see json.h for what "strict" means here. */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deep enough for any scenario, shallow enough that hostile input cannot exhaust the stack. */
#define JSON_MAX_DEPTH 64

typedef struct {
  const char *s;
  size_t len;
  size_t pos;
  char *err;
  size_t errlen;
  int failed;
} parser;

static void fail(parser *p, const char *fmt, ...) {
  if (p->failed) return;
  p->failed = 1;
  size_t line = 1, col = 1;
  for (size_t k = 0; k < p->pos && k < p->len; k++) {
    if (p->s[k] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  if (p->err == NULL || p->errlen == 0) return;
  int n = snprintf(p->err, p->errlen, "line %zu column %zu: ", line, col);
  if (n < 0 || (size_t)n >= p->errlen) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
  va_end(ap);
}

static int peek(const parser *p) { return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1; }

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static int expect_word(parser *p, const char *w) {
  size_t n = strlen(w);
  if (p->len - p->pos < n || memcmp(p->s + p->pos, w, n) != 0) {
    fail(p, "invalid literal");
    return -1;
  }
  p->pos += n;
  return 0;
}

static int parse_value(parser *p, json_value *out, int depth);

static int hex4(parser *p, unsigned *out) {
  if (p->len - p->pos < 4) {
    fail(p, "truncated \\u escape");
    return -1;
  }
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p->s[p->pos++];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else {
      fail(p, "bad hex digit in \\u escape");
      return -1;
    }
  }
  *out = v;
  return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | (cp >> 18));
  o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* Called with pos on the opening quote. The decoded string is never longer than the source. */
static char *parse_string(parser *p, size_t *out_len) {
  p->pos++;
  size_t start = p->pos;
  size_t end = start;
  while (end < p->len && p->s[end] != '"') end += (p->s[end] == '\\') ? 2 : 1;
  if (end >= p->len) {
    fail(p, "unterminated string");
    return NULL;
  }
  char *buf = malloc(end - start + 1);
  if (buf == NULL) {
    fail(p, "out of memory");
    return NULL;
  }
  size_t n = 0;
  while (p->pos < end) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c < 0x20) {
      fail(p, "control character in string");
      goto error;
    }
    if (c != '\\') {
      buf[n++] = (char)c;
      p->pos++;
      continue;
    }
    p->pos++;
    char e = p->s[p->pos++];
    switch (e) {
      case '"': buf[n++] = '"'; break;
      case '\\': buf[n++] = '\\'; break;
      case '/': buf[n++] = '/'; break;
      case 'b': buf[n++] = '\b'; break;
      case 'f': buf[n++] = '\f'; break;
      case 'n': buf[n++] = '\n'; break;
      case 'r': buf[n++] = '\r'; break;
      case 't': buf[n++] = '\t'; break;
      case 'u': {
        unsigned cp;
        if (hex4(p, &cp) != 0) goto error;
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          fail(p, "lone low surrogate");
          goto error;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          unsigned lo;
          if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
            fail(p, "lone high surrogate");
            goto error;
          }
          p->pos += 2;
          if (hex4(p, &lo) != 0) goto error;
          if (lo < 0xDC00 || lo > 0xDFFF) {
            fail(p, "bad low surrogate");
            goto error;
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) {
          fail(p, "\\u0000 is not allowed");
          goto error;
        }
        n += put_utf8(buf + n, cp);
        break;
      }
      default:
        fail(p, "bad escape '\\%c'", e);
        goto error;
    }
  }
  p->pos = end + 1;
  buf[n] = '\0';
  *out_len = n;
  return buf;
error:
  free(buf);
  return NULL;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *p, json_value *out) {
  size_t start = p->pos;
  int neg = 0, integral = 1;
  if (peek(p) == '-') {
    neg = 1;
    p->pos++;
  }
  if (peek(p) == '0') {
    p->pos++;
    if (is_digit(peek(p))) {
      fail(p, "leading zero in number");
      return -1;
    }
  } else if (is_digit(peek(p))) {
    while (is_digit(peek(p))) p->pos++;
  } else {
    fail(p, "invalid number");
    return -1;
  }
  if (peek(p) == '.') {
    integral = 0;
    p->pos++;
    if (!is_digit(peek(p))) {
      fail(p, "digit expected after '.'");
      return -1;
    }
    while (is_digit(peek(p))) p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    integral = 0;
    p->pos++;
    if (peek(p) == '+' || peek(p) == '-') p->pos++;
    if (!is_digit(peek(p))) {
      fail(p, "digit expected in exponent");
      return -1;
    }
    while (is_digit(peek(p))) p->pos++;
  }
  char tmp[64];
  size_t n = p->pos - start;
  out->type = JSON_NUMBER;
  out->num_kind = JSON_NUM_REAL;
  if (n >= sizeof tmp) {
    /* Too long for any 64-bit integer: keep only an approximate double. */
    char *big = strndup(p->s + start, n);
    if (big == NULL) {
      fail(p, "out of memory");
      return -1;
    }
    out->d = strtod(big, NULL);
    free(big);
    return 0;
  }
  memcpy(tmp, p->s + start, n);
  tmp[n] = '\0';
  out->d = strtod(tmp, NULL);
  if (!integral) return 0;
  errno = 0;
  if (neg) {
    long long v = strtoll(tmp, NULL, 10);
    if (errno == 0) {
      out->num_kind = v == 0 ? JSON_NUM_UINT : JSON_NUM_INT;
      out->i = v;
      out->u = 0;
    }
  } else {
    unsigned long long v = strtoull(tmp, NULL, 10);
    if (errno == 0) {
      out->num_kind = JSON_NUM_UINT;
      out->u = v;
      out->i = v <= (unsigned long long)LLONG_MAX ? (long long)v : 0;
    }
  }
  return 0;
}

static int grow(parser *p, json_value *v, size_t *cap, int with_keys) {
  if (v->count < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 8;
  json_value *items = realloc(v->items, ncap * sizeof *items);
  if (items == NULL) {
    fail(p, "out of memory");
    return -1;
  }
  v->items = items;
  if (with_keys) {
    char **keys = realloc(v->keys, ncap * sizeof *keys);
    if (keys == NULL) {
      fail(p, "out of memory");
      return -1;
    }
    v->keys = keys;
  }
  *cap = ncap;
  return 0;
}

static int parse_array(parser *p, json_value *out, int depth) {
  size_t cap = 0;
  out->type = JSON_ARRAY;
  p->pos++;
  skip_ws(p);
  if (peek(p) == ']') {
    p->pos++;
    return 0;
  }
  for (;;) {
    if (grow(p, out, &cap, 0) != 0) return -1;
    json_value *item = &out->items[out->count];
    memset(item, 0, sizeof *item);
    out->count++;
    if (parse_value(p, item, depth + 1) != 0) return -1;
    skip_ws(p);
    if (peek(p) == ',') {
      p->pos++;
      continue;
    }
    if (peek(p) == ']') {
      p->pos++;
      return 0;
    }
    fail(p, "expected ',' or ']'");
    return -1;
  }
}

static int parse_object(parser *p, json_value *out, int depth) {
  size_t cap = 0;
  out->type = JSON_OBJECT;
  p->pos++;
  skip_ws(p);
  if (peek(p) == '}') {
    p->pos++;
    return 0;
  }
  for (;;) {
    skip_ws(p);
    if (peek(p) != '"') {
      fail(p, "expected a member name");
      return -1;
    }
    if (grow(p, out, &cap, 1) != 0) return -1;
    size_t klen;
    size_t key_pos = p->pos;
    char *key = parse_string(p, &klen);
    if (key == NULL) return -1;
    for (size_t k = 0; k < out->count; k++) {
      if (strcmp(out->keys[k], key) == 0) {
        p->pos = key_pos;
        fail(p, "duplicate member \"%s\"", key);
        free(key);
        return -1;
      }
    }
    json_value *item = &out->items[out->count];
    memset(item, 0, sizeof *item);
    out->keys[out->count] = key;
    out->count++;
    skip_ws(p);
    if (peek(p) != ':') {
      fail(p, "expected ':'");
      return -1;
    }
    p->pos++;
    if (parse_value(p, item, depth + 1) != 0) return -1;
    skip_ws(p);
    if (peek(p) == ',') {
      p->pos++;
      continue;
    }
    if (peek(p) == '}') {
      p->pos++;
      return 0;
    }
    fail(p, "expected ',' or '}'");
    return -1;
  }
}

static int parse_value(parser *p, json_value *out, int depth) {
  if (depth > JSON_MAX_DEPTH) {
    fail(p, "nested deeper than %d", JSON_MAX_DEPTH);
    return -1;
  }
  skip_ws(p);
  int c = peek(p);
  switch (c) {
    case '{': return parse_object(p, out, depth);
    case '[': return parse_array(p, out, depth);
    case '"':
      out->type = JSON_STRING;
      out->str = parse_string(p, &out->len);
      return out->str == NULL ? -1 : 0;
    case 't':
      out->type = JSON_BOOL;
      out->boolean = 1;
      return expect_word(p, "true");
    case 'f':
      out->type = JSON_BOOL;
      return expect_word(p, "false");
    case 'n':
      out->type = JSON_NULL;
      return expect_word(p, "null");
    case -1:
      fail(p, "unexpected end of input");
      return -1;
    default:
      if (c == '-' || is_digit(c)) return parse_number(p, out);
      fail(p, "unexpected character '%c'", c);
      return -1;
  }
}

static void free_contents(json_value *v) {
  free(v->str);
  for (size_t k = 0; k < v->count; k++) {
    free_contents(&v->items[k]);
    if (v->keys != NULL) free(v->keys[k]);
  }
  free(v->items);
  free(v->keys);
}

json_value *json_parse(const char *text, size_t len, char *err, size_t errlen) {
  parser p = {text, len, 0, err, errlen, 0};
  json_value *root = calloc(1, sizeof *root);
  if (root == NULL) {
    fail(&p, "out of memory");
    return NULL;
  }
  if (parse_value(&p, root, 0) == 0) {
    skip_ws(&p);
    if (p.pos != p.len) fail(&p, "unexpected data after the value");
  }
  if (p.failed) {
    json_free(root);
    return NULL;
  }
  return root;
}

void json_free(json_value *v) {
  if (v == NULL) return;
  free_contents(v);
  free(v);
}

const json_value *json_get(const json_value *obj, const char *key) {
  if (obj == NULL || obj->type != JSON_OBJECT) return NULL;
  for (size_t k = 0; k < obj->count; k++) {
    if (strcmp(obj->keys[k], key) == 0) return &obj->items[k];
  }
  return NULL;
}
