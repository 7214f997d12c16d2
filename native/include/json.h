/*
 * A small, strict JSON parser (RFC 8259): the mocks read scenario files and control-ABI values with it.
 * Integral numbers keep their exact value as unsigned or signed 64-bit (a double would lose counters
 * above 2^53); anything else is a double. Trailing commas, comments, leading zeros, control
 * characters in strings, lone surrogates and trailing garbage are errors.
 */
#ifndef BRIXLET_JSON_H
#define BRIXLET_JSON_H

#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef enum {
  JSON_NUM_UINT, /* integral and >= 0: u holds it exactly */
  JSON_NUM_INT,  /* integral and < 0: i holds it exactly */
  JSON_NUM_REAL  /* fraction, exponent or out of 64-bit range: only d */
} json_num_kind;

typedef struct json_value json_value;
struct json_value {
  json_type type;
  int boolean;
  json_num_kind num_kind;
  unsigned long long u;
  long long i;
  double d;
  char *str;        /* JSON_STRING: UTF-8, NUL-terminated (embedded NULs rejected) */
  size_t len;
  size_t count;     /* JSON_ARRAY / JSON_OBJECT: number of items / members */
  json_value *items;/* array items or object member values */
  char **keys;      /* JSON_OBJECT: member names, parallel to items */
};

/*
 * Parses text[0..len). Returns a tree to release with json_free, or NULL with a message such as
 * "line 3 column 7: expected ':'" in err.
 */
json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json_value *v);

/* The member called key of an object, or NULL. Duplicate keys are rejected at parse time. */
const json_value *json_get(const json_value *obj, const char *key);

#endif
