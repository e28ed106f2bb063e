/* rustshape.h - what a wasmCloud actor built by the Rust toolchain (wasmbus-rpc 0.x) looks like
 * to a host, for the project's own C actors: host functions imported from module "wasmbus",
 * __wasmbus_rpc_version exported, msgpack payloads, and (set in each source's build flags)
 * the Rust default of a 1 MiB shadow stack in 17 pages of initial linear memory.
 */
#ifndef EDGEHOST_RUSTSHAPE_H
#define EDGEHOST_RUSTSHAPE_H

#define WAPC_MODULE "wasmbus"
#include "wapc.h"

__attribute__((export_name("__wasmbus_rpc_version"))) uint32_t wasmbus_rpc_version(void) {
    return 1;
}

/* A msgpack reader over one payload: only what the actors need (maps of str keys). */
struct mp_reader {
    const uint8_t *p;
    uint32_t len, at;
};

static int mp_byte(struct mp_reader *r, uint8_t *b) {
    if (r->at >= r->len) return 0;
    *b = r->p[r->at++];
    return 1;
}

static int mp_be(struct mp_reader *r, uint32_t size, uint32_t *out) {
    uint32_t v = 0, i;
    if (r->at + size > r->len) return 0;
    for (i = 0; i < size; i++) v = (v << 8) | r->p[r->at++];
    *out = v;
    return 1;
}

static int mp_map(struct mp_reader *r, uint32_t *count) {
    uint8_t b;
    if (!mp_byte(r, &b)) return 0;
    if ((b & 0xf0) == 0x80) {
        *count = b & 0x0f;
        return 1;
    }
    return b == 0xde && mp_be(r, 2, count);
}

/* A str (or bin) value: its bytes stay in the payload. */
static int mp_bytes(struct mp_reader *r, const uint8_t **s, uint32_t *n) {
    uint8_t b;
    if (!mp_byte(r, &b)) return 0;
    if ((b & 0xe0) == 0xa0) *n = b & 0x1f;
    else if (b == 0xd9 || b == 0xc4) { if (!mp_be(r, 1, n)) return 0; }
    else if (b == 0xda || b == 0xc5) { if (!mp_be(r, 2, n)) return 0; }
    else if (b == 0xdb || b == 0xc6) { if (!mp_be(r, 4, n)) return 0; }
    else return 0;
    if (r->at + *n > r->len) return 0;
    *s = r->p + r->at;
    r->at += *n;
    return 1;
}

/* An unsigned integer value (positive fixint, uint8/16/32). */
static int mp_uint(struct mp_reader *r, uint32_t *v) {
    uint8_t b;
    if (!mp_byte(r, &b)) return 0;
    if (b < 0x80) { *v = b; return 1; }
    if (b == 0xcc) return mp_be(r, 1, v);
    if (b == 0xcd) return mp_be(r, 2, v);
    if (b == 0xce) return mp_be(r, 4, v);
    return 0;
}

/* A msgpack writer into a buffer from wapc_alloc. */
struct mp_writer {
    uint8_t *p;
    uint32_t at;
};

static void mp_put(struct mp_writer *w, const void *data, uint32_t n) {
    const uint8_t *d = (const uint8_t *)data;
    uint32_t i;
    for (i = 0; i < n; i++) w->p[w->at++] = d[i];
}

static void mp_put_map(struct mp_writer *w, uint8_t count) {
    uint8_t b = (uint8_t)(0x80 | count);
    mp_put(w, &b, 1);
}

static void mp_put_str(struct mp_writer *w, const void *s, uint32_t n) {
    uint8_t head[3];
    if (n < 32) { head[0] = (uint8_t)(0xa0 | n); mp_put(w, head, 1); }
    else if (n < 256) { head[0] = 0xd9; head[1] = (uint8_t)n; mp_put(w, head, 2); }
    else { head[0] = 0xda; head[1] = (uint8_t)(n >> 8); head[2] = (uint8_t)n; mp_put(w, head, 3); }
    mp_put(w, s, n);
}

static void mp_put_cstr(struct mp_writer *w, const char *s) { mp_put_str(w, s, wapc_strlen(s)); }

static void mp_put_uint(struct mp_writer *w, uint32_t v) {
    uint8_t b[5] = {0xce, (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    mp_put(w, b, 5);
}

/* Find str key `name` in a msgpack map and leave the reader at its value. */
static int mp_find(const uint8_t *msg, uint32_t len, const char *name, struct mp_reader *r) {
    uint32_t count, i;
    const uint8_t *key;
    uint32_t key_len;
    r->p = msg;
    r->len = len;
    r->at = 0;
    if (!mp_map(r, &count)) return 0;
    for (i = 0; i < count; i++) {
        if (!mp_bytes(r, &key, &key_len)) return 0;
        if (wapc_equal(key, key_len, name)) return 1;
        {  /* skip a value of the kinds these actors send: str, bin or uint */
            const uint8_t *s;
            uint32_t n;
            uint32_t at = r->at;
            if (!mp_bytes(r, &s, &n)) {
                r->at = at;
                if (!mp_uint(r, &n)) return 0;
            }
        }
    }
    return 0;
}

#endif
