/* rust_bulky: a Rust-shaped actor (see rustshape.h) whose module is over 2 MiB, most of it a
 * 2 MiB data section (tables, fonts, models: what makes real actors large). Blob.Sum takes
 * msgpack {"at": uint, "len": uint} and answers {"sum": uint} over that span of the data.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=3276800
 */
#include "rustshape.h"

/* 2 MiB of text, 32 bytes a row, built by the preprocessor so the source stays small */
#define ROW "edgehost-blob-0123456789abcdefg\n"
#define R32 ROW ROW
#define K1 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32 R32
#define K16 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1 K1
#define K256 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16 K16
#define M2 K256 K256 K256 K256 K256 K256 K256 K256

static const char blob[] = M2;
#define BLOB_SIZE (sizeof blob - 1)

static int sum(const uint8_t *msg, uint32_t len) {
    struct mp_reader r;
    struct mp_writer w;
    uint32_t at, span, total = 0, i;
    if (!mp_find(msg, len, "at", &r) || !mp_uint(&r, &at) ||
        !mp_find(msg, len, "len", &r) || !mp_uint(&r, &span))
        return wapc_fail("Blob.Sum: payload must be a msgpack map with uints \"at\" and \"len\"");
    if (at > BLOB_SIZE || span > BLOB_SIZE - at) return wapc_fail("Blob.Sum: span out of range");
    for (i = 0; i < span; i++) total += (uint8_t)blob[at + i];
    w.p = (uint8_t *)wapc_alloc(16);
    w.at = 0;
    if (!w.p) return wapc_fail("out of memory for the answer");
    mp_put_map(&w, 1);
    mp_put_cstr(&w, "sum");
    mp_put_uint(&w, total);
    return wapc_respond(w.p, w.at);
}

static int size(const uint8_t *msg, uint32_t len) {
    struct mp_writer w;
    (void)msg;
    (void)len;
    w.p = (uint8_t *)wapc_alloc(16);
    w.at = 0;
    if (!w.p) return wapc_fail("out of memory for the answer");
    mp_put_map(&w, 1);
    mp_put_cstr(&w, "size");
    mp_put_uint(&w, BLOB_SIZE);
    return wapc_respond(w.p, w.at);
}

static const struct wapc_operation operations[] = {
    {"Blob.Sum", sum},
    {"Blob.Size", size},
    {"Actor.HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
