/* features: built for newer toolchains' defaults (bulk memory, sign extension, multi-value),
 * to tell which engine runs what. build-flags: -mbulk-memory -msign-ext -mmultivalue -Xclang -target-abi -Xclang experimental-mv
 *
 * Copy answers its payload copied with memory.copy; Fill answers as many '*' as the payload
 * has bytes (memory.fill);
 * SignExtend answers each payload byte sign-extended to 4 bytes (i32.extend8_s); Pair answers
 * the two halves of a function's two results (multi-value), as 8 bytes.
 */
#include "wapc.h"

static int copy(const uint8_t *msg, uint32_t len) {
    uint8_t *out = (uint8_t *)wapc_alloc(len);
    if (!out) return wapc_fail("out of memory");
    __builtin_memcpy(out, msg, len);
    return wapc_respond(out, len);
}

static int fill(const uint8_t *msg, uint32_t len) {
    uint8_t *out = (uint8_t *)wapc_alloc(len);
    (void)msg;
    if (!out) return wapc_fail("out of memory");
    __builtin_memset(out, '*', len);
    return wapc_respond(out, len);
}

static int sign_extend(const uint8_t *msg, uint32_t len) {
    int32_t *out = (int32_t *)wapc_alloc(len * 4);
    uint32_t i;
    if (!out) return wapc_fail("out of memory");
    for (i = 0; i < len; i++) out[i] = (int32_t)(int8_t)((volatile const uint8_t *)msg)[i];
    return wapc_respond(out, len * 4);
}

struct pair {
    int32_t low;
    int32_t high;
};

__attribute__((noinline)) static struct pair split(uint32_t value) {
    struct pair p = {(int32_t)(value & 0xFFFF), (int32_t)(value >> 16)};
    return p;
}

static int pair(const uint8_t *msg, uint32_t len) {
    int32_t *out = (int32_t *)wapc_alloc(8);
    struct pair p;
    if (len != 4 || !out) return wapc_fail("Pair wants 4 bytes");
    p = split((uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
              (uint32_t)msg[3] << 24);
    out[0] = p.low;
    out[1] = p.high;
    return wapc_respond(out, 8);
}

static const struct wapc_operation operations[] = {
    {"Copy", copy},
    {"Fill", fill},
    {"SignExtend", sign_extend},
    {"Pair", pair},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
