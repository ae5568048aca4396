/*
 * invhost_json.h: a small JSON writer and reader for invhost plugins in C.
 *
 * Single header, no dependencies beyond the C standard library. In exactly
 * one source file, define INVHOST_JSON_IMPLEMENTATION before including it:
 *
 *     #define INVHOST_JSON_IMPLEMENTATION
 *     #include "invhost_json.h"
 *
 * Writing: an ij_writer builds one JSON document in a buffer from malloc,
 * growing it with realloc; commas and nesting are tracked for you, strings
 * are escaped. An allocation failure or a misuse (a value where a key is
 * due, nesting deeper than IJ_MAX_DEPTH) sets `failed` and later calls do
 * nothing: check ij_finish once at the end. The finished buffer is yours:
 * hand it to the host in an invhost_out_buf and release it with free(3) in
 * the plugin's `free`.
 *
 *     ij_writer w;
 *     ij_init(&w);
 *     ij_object(&w);
 *       ij_key(&w, "records"); ij_array(&w);
 *         ij_object(&w);
 *           ij_field_str(&w, "kind", "device");
 *           ij_field_str(&w, "source_key", "dev-1");
 *         ij_end(&w);
 *       ij_end(&w);
 *     ij_end(&w);
 *     if (ij_finish(&w) != 0) { ... out of memory ... }
 *     emit(ctx, (const uint8_t *)w.buf, w.len);
 *
 * Reading: the request the host sends is one JSON object. ij_get finds a
 * member of an object by key (no allocation: it returns the member's span
 * in the input), ij_get_str copies a string value unescaped into your
 * buffer, ij_get_int and ij_get_bool read numbers and booleans. Every
 * function checks what it reads and fails (returns non-zero) on malformed
 * input; nothing is read past `len`, and nesting is bounded.
 *
 *     ij_span params;
 *     char prefix[64];
 *     if (ij_get(request, len, "parameters", &params) == IJ_OK &&
 *         ij_get_str(params.p, params.n, "prefix", prefix, sizeof prefix, NULL) == IJ_OK) ...
 */
#ifndef INVHOST_JSON_H
#define INVHOST_JSON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting the writer tracks and the reader accepts. */
#define IJ_MAX_DEPTH 32

/* Results of the reader. */
#define IJ_OK 0          /* found and read */
#define IJ_ABSENT 1      /* the key is not there (or its value is null) */
#define IJ_WRONG_TYPE 2  /* the value is not of the type asked for */
#define IJ_TOO_LONG 3    /* the string does not fit the buffer */
#define IJ_MALFORMED 4   /* the input is not JSON of the expected shape */

typedef struct {
    char *buf;      /* the document so far (not NUL-terminated until ij_finish) */
    size_t len;     /* bytes written */
    size_t cap;     /* bytes allocated */
    int failed;     /* non-zero after an allocation failure or a misuse */
    int depth;      /* open objects and arrays */
    unsigned char first[IJ_MAX_DEPTH]; /* per level: nothing written yet */
    unsigned char in_object[IJ_MAX_DEPTH];
    int key_pending; /* a key was written; its value is due */
} ij_writer;

/* A span of the input: one JSON value's text. */
typedef struct {
    const char *p;
    size_t n;
} ij_span;

/* --- writing --- */
void ij_init(ij_writer *w);
void ij_object(ij_writer *w);               /* { */
void ij_array(ij_writer *w);                /* [ */
void ij_end(ij_writer *w);                  /* } or ] */
void ij_key(ij_writer *w, const char *key); /* "key": (inside an object) */
void ij_str(ij_writer *w, const char *s);   /* a string value, escaped; NULL writes null */
void ij_strn(ij_writer *w, const char *s, size_t n);
void ij_int(ij_writer *w, long long v);
void ij_bool(ij_writer *w, int v);
void ij_null(ij_writer *w);
/* key and value in one call */
void ij_field_str(ij_writer *w, const char *key, const char *s);
void ij_field_int(ij_writer *w, const char *key, long long v);
void ij_field_bool(ij_writer *w, const char *key, int v);
/* Ends the document: 0 when it is complete and well-formed, -1 otherwise
 * (allocation failure, unclosed levels). The buffer then ends with a NUL
 * byte not counted in `len`. */
int ij_finish(ij_writer *w);
/* Frees the buffer (after a failure, or when you did not hand it over). */
void ij_reset(ij_writer *w);

/* --- reading --- */
/* Finds member `key` of the object in json[0..len). */
int ij_get(const char *json, size_t len, const char *key, ij_span *value);
/* Reads member `key` as a string into out[0..cap) (NUL-terminated, unescaped;
 * \u escapes become UTF-8); `*out_len` (may be NULL) gets its length. */
int ij_get_str(const char *json, size_t len, const char *key, char *out, size_t cap,
               size_t *out_len);
int ij_get_int(const char *json, size_t len, const char *key, long long *out);
int ij_get_bool(const char *json, size_t len, const char *key, int *out);
/* Whether the span is the string `text` (compared after unescaping). */
int ij_str_is(ij_span value, const char *text);

#ifdef __cplusplus
}
#endif

#endif /* INVHOST_JSON_H */

#ifdef INVHOST_JSON_IMPLEMENTATION
#ifndef INVHOST_JSON_IMPLEMENTED
#define INVHOST_JSON_IMPLEMENTED

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void ij__put(ij_writer *w, const char *s, size_t n)
{
    if (w->failed) {
        return;
    }
    if (w->cap - w->len < n + 1) {
        size_t cap = w->cap ? w->cap : 256;
        char *grown;
        while (cap - w->len < n + 1) {
            if (cap > ((size_t)-1) / 2) {
                w->failed = 1;
                return;
            }
            cap *= 2;
        }
        grown = (char *)realloc(w->buf, cap);
        if (grown == NULL) {
            w->failed = 1;
            return;
        }
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Before a value: the comma, and the check that a key was given in an object. */
static void ij__value(ij_writer *w)
{
    if (w->depth > 0) {
        int level = w->depth - 1;
        if (w->in_object[level] && !w->key_pending) {
            w->failed = 1; /* a value in an object needs its key first */
            return;
        }
        if (!w->in_object[level]) {
            if (!w->first[level]) {
                ij__put(w, ",", 1);
            }
            w->first[level] = 0;
        }
    }
    w->key_pending = 0;
}

static void ij__escaped(ij_writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, start = 0;
    ij__put(w, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        char u[6];
        if (c == '"') {
            rep = "\\\"";
        } else if (c == '\\') {
            rep = "\\\\";
        } else if (c == '\n') {
            rep = "\\n";
        } else if (c == '\r') {
            rep = "\\r";
        } else if (c == '\t') {
            rep = "\\t";
        } else if (c < 0x20) {
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15];
        } else {
            continue;
        }
        ij__put(w, s + start, i - start);
        if (rep != NULL) {
            ij__put(w, rep, strlen(rep));
        } else {
            ij__put(w, u, 6);
        }
        start = i + 1;
    }
    ij__put(w, s + start, n - start);
    ij__put(w, "\"", 1);
}

void ij_init(ij_writer *w)
{
    memset(w, 0, sizeof *w);
}

static void ij__open(ij_writer *w, const char *bracket, int object)
{
    ij__value(w);
    if (w->depth >= IJ_MAX_DEPTH) {
        w->failed = 1;
        return;
    }
    ij__put(w, bracket, 1);
    w->first[w->depth] = 1;
    w->in_object[w->depth] = (unsigned char)object;
    w->depth++;
}

void ij_object(ij_writer *w) { ij__open(w, "{", 1); }
void ij_array(ij_writer *w) { ij__open(w, "[", 0); }

void ij_end(ij_writer *w)
{
    if (w->depth == 0 || w->key_pending) {
        w->failed = 1;
        return;
    }
    w->depth--;
    ij__put(w, w->in_object[w->depth] ? "}" : "]", 1);
}

void ij_key(ij_writer *w, const char *key)
{
    int level = w->depth - 1;
    if (w->depth == 0 || !w->in_object[level] || w->key_pending) {
        w->failed = 1;
        return;
    }
    if (!w->first[level]) {
        ij__put(w, ",", 1);
    }
    w->first[level] = 0;
    ij__escaped(w, key, strlen(key));
    ij__put(w, ":", 1);
    w->key_pending = 1;
}

void ij_strn(ij_writer *w, const char *s, size_t n)
{
    ij__value(w);
    ij__escaped(w, s, n);
}

void ij_str(ij_writer *w, const char *s)
{
    if (s == NULL) {
        ij_null(w);
    } else {
        ij_strn(w, s, strlen(s));
    }
}

void ij_int(ij_writer *w, long long v)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%lld", v);
    ij__value(w);
    ij__put(w, text, (size_t)n);
}

void ij_bool(ij_writer *w, int v)
{
    ij__value(w);
    ij__put(w, v ? "true" : "false", v ? 4 : 5);
}

void ij_null(ij_writer *w)
{
    ij__value(w);
    ij__put(w, "null", 4);
}

void ij_field_str(ij_writer *w, const char *key, const char *s) { ij_key(w, key); ij_str(w, s); }
void ij_field_int(ij_writer *w, const char *key, long long v) { ij_key(w, key); ij_int(w, v); }
void ij_field_bool(ij_writer *w, const char *key, int v) { ij_key(w, key); ij_bool(w, v); }

int ij_finish(ij_writer *w)
{
    if (w->failed || w->depth != 0 || w->key_pending || w->len == 0) {
        return -1;
    }
    ij__put(w, "", 0); /* makes room for the NUL */
    if (w->failed) {
        return -1;
    }
    w->buf[w->len] = '\0';
    return 0;
}

void ij_reset(ij_writer *w)
{
    free(w->buf);
    ij_init(w);
}

/* --- reading --- */

static size_t ij__ws(const char *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) {
        i++;
    }
    return i;
}

/* The end of the string starting at p[i] == '"', or 0 when malformed. */
static size_t ij__string_end(const char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\') {
            i++;
        } else if (p[i] == '"') {
            return i + 1;
        } else if ((unsigned char)p[i] < 0x20) {
            return 0;
        }
    }
    return 0;
}

/* The end of the value starting at p[i], or 0 when malformed. */
static size_t ij__skip(const char *p, size_t n, size_t i, int depth)
{
    i = ij__ws(p, n, i);
    if (i >= n || depth > IJ_MAX_DEPTH) {
        return 0;
    }
    if (p[i] == '"') {
        return ij__string_end(p, n, i);
    }
    if (p[i] == '{' || p[i] == '[') {
        char close = p[i] == '{' ? '}' : ']';
        int object = p[i] == '{';
        i = ij__ws(p, n, i + 1);
        if (i < n && p[i] == close) {
            return i + 1;
        }
        for (;;) {
            if (object) {
                i = ij__ws(p, n, i);
                if (i >= n || p[i] != '"' || (i = ij__string_end(p, n, i)) == 0) {
                    return 0;
                }
                i = ij__ws(p, n, i);
                if (i >= n || p[i] != ':') {
                    return 0;
                }
                i++;
            }
            if ((i = ij__skip(p, n, i, depth + 1)) == 0) {
                return 0;
            }
            i = ij__ws(p, n, i);
            if (i < n && p[i] == ',') {
                i++;
                continue;
            }
            return i < n && p[i] == close ? i + 1 : 0;
        }
    }
    /* a number, true, false or null */
    {
        size_t start = i;
        while (i < n && (p[i] == '-' || p[i] == '+' || p[i] == '.' || (p[i] >= '0' && p[i] <= '9') ||
                         (p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z'))) {
            i++;
        }
        if (i == start) {
            return 0;
        }
        if ((i - start == 4 && (memcmp(p + start, "true", 4) == 0 || memcmp(p + start, "null", 4) == 0)) ||
            (i - start == 5 && memcmp(p + start, "false", 5) == 0) ||
            p[start] == '-' || (p[start] >= '0' && p[start] <= '9')) {
            return i;
        }
        return 0;
    }
}

/* Unescapes the string span (with its quotes) into out[0..cap), NUL-terminated. */
static int ij__unescape(ij_span s, char *out, size_t cap, size_t *len)
{
    size_t i, k, o = 0;
    if (s.n < 2 || s.p[0] != '"' || s.p[s.n - 1] != '"') {
        return IJ_WRONG_TYPE;
    }
    for (i = 1; i + 1 < s.n; i++) {
        char utf8[3];
        size_t m = 1;
        unsigned long c;
        if (s.p[i] != '\\') {
            utf8[0] = s.p[i]; /* raw bytes (UTF-8 included) are copied as they are */
        } else {
            char e;
            if (i + 2 >= s.n) {
                return IJ_MALFORMED;
            }
            e = s.p[++i];
            switch (e) {
            case 'n': utf8[0] = '\n'; break;
            case 't': utf8[0] = '\t'; break;
            case 'r': utf8[0] = '\r'; break;
            case 'b': utf8[0] = '\b'; break;
            case 'f': utf8[0] = '\f'; break;
            case '"': case '\\': case '/': utf8[0] = e; break;
            case 'u':
                if (i + 5 >= s.n) {
                    return IJ_MALFORMED;
                }
                c = 0;
                for (k = 1; k <= 4; k++) {
                    char h = s.p[i + k];
                    c <<= 4;
                    if (h >= '0' && h <= '9') c |= (unsigned long)(h - '0');
                    else if (h >= 'a' && h <= 'f') c |= (unsigned long)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F') c |= (unsigned long)(h - 'A' + 10);
                    else return IJ_MALFORMED;
                }
                i += 4;
                /* Characters of the Basic Multilingual Plane; the halves of a
                 * surrogate pair stay two 3-byte sequences. */
                if (c < 0x80) {
                    utf8[0] = (char)c;
                } else if (c < 0x800) {
                    utf8[0] = (char)(0xC0 | (c >> 6));
                    utf8[1] = (char)(0x80 | (c & 0x3F));
                    m = 2;
                } else {
                    utf8[0] = (char)(0xE0 | (c >> 12));
                    utf8[1] = (char)(0x80 | ((c >> 6) & 0x3F));
                    utf8[2] = (char)(0x80 | (c & 0x3F));
                    m = 3;
                }
                break;
            default:
                return IJ_MALFORMED;
            }
        }
        if (o + m >= cap) {
            return IJ_TOO_LONG;
        }
        memcpy(out + o, utf8, m);
        o += m;
    }
    out[o] = '\0';
    if (len != NULL) {
        *len = o;
    }
    return IJ_OK;
}

int ij_str_is(ij_span value, const char *text)
{
    char buf[256];
    return ij__unescape(value, buf, sizeof buf, NULL) == IJ_OK && strcmp(buf, text) == 0;
}

int ij_get(const char *json, size_t len, const char *key, ij_span *value)
{
    /* The whole object is checked, not only up to the member: a truncated or
     * malformed request is refused whatever member is asked for. */
    int found = 0;
    ij_span at = {NULL, 0};
    size_t i = ij__ws(json, len, 0);
    if (i >= len || json[i] != '{') {
        return IJ_MALFORMED;
    }
    i = ij__ws(json, len, i + 1);
    if (i < len && json[i] == '}') {
        i++;
    } else {
        for (;;) {
            size_t key_end, value_start, value_end;
            ij_span name;
            i = ij__ws(json, len, i);
            if (i >= len || json[i] != '"' || (key_end = ij__string_end(json, len, i)) == 0) {
                return IJ_MALFORMED;
            }
            name.p = json + i;
            name.n = key_end - i;
            i = ij__ws(json, len, key_end);
            if (i >= len || json[i] != ':') {
                return IJ_MALFORMED;
            }
            value_start = ij__ws(json, len, i + 1);
            if ((value_end = ij__skip(json, len, value_start, 1)) == 0) {
                return IJ_MALFORMED;
            }
            if (!found && ij_str_is(name, key)) {
                found = 1;
                at.p = json + value_start;
                at.n = value_end - value_start;
            }
            i = ij__ws(json, len, value_end);
            if (i < len && json[i] == ',') {
                i++;
                continue;
            }
            if (i < len && json[i] == '}') {
                i++;
                break;
            }
            return IJ_MALFORMED;
        }
    }
    if (ij__ws(json, len, i) != len) {
        return IJ_MALFORMED; /* something after the object */
    }
    if (!found || (at.n == 4 && memcmp(at.p, "null", 4) == 0)) {
        return IJ_ABSENT;
    }
    *value = at;
    return IJ_OK;
}

int ij_get_str(const char *json, size_t len, const char *key, char *out, size_t cap,
               size_t *out_len)
{
    ij_span v;
    int r = ij_get(json, len, key, &v);
    if (r != IJ_OK) {
        return r;
    }
    if (cap == 0) {
        return IJ_TOO_LONG;
    }
    return ij__unescape(v, out, cap, out_len);
}

int ij_get_int(const char *json, size_t len, const char *key, long long *out)
{
    ij_span v;
    char text[32];
    char *end;
    int r = ij_get(json, len, key, &v);
    if (r != IJ_OK) {
        return r;
    }
    if (v.n == 0 || v.n >= sizeof text || !(v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9'))) {
        return IJ_WRONG_TYPE;
    }
    memcpy(text, v.p, v.n);
    text[v.n] = '\0';
    *out = strtoll(text, &end, 10);
    return *end == '\0' ? IJ_OK : IJ_WRONG_TYPE;
}

int ij_get_bool(const char *json, size_t len, const char *key, int *out)
{
    ij_span v;
    int r = ij_get(json, len, key, &v);
    if (r != IJ_OK) {
        return r;
    }
    if (v.n == 4 && memcmp(v.p, "true", 4) == 0) {
        *out = 1;
    } else if (v.n == 5 && memcmp(v.p, "false", 5) == 0) {
        *out = 0;
    } else {
        return IJ_WRONG_TYPE;
    }
    return IJ_OK;
}

#endif /* INVHOST_JSON_IMPLEMENTED */
#endif /* INVHOST_JSON_IMPLEMENTATION */
