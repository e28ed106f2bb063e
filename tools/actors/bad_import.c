/* bad_import: a waPC actor that also imports functions no edgehost host provides
 * (env.random_bytes, wapc.__host_frobnicate); a host must refuse it before running it. */
#include "wapc.h"

__attribute__((import_module("env"), import_name("random_bytes"))) void random_bytes(uint8_t *p,
                                                                                     uint32_t n);
WAPC_IMPORT("__host_frobnicate") int32_t __host_frobnicate(void);

static int roll(const uint8_t *msg, uint32_t len) {
    uint8_t out[4];
    (void)msg;
    (void)len;
    random_bytes(out, sizeof out);
    out[0] ^= (uint8_t)__host_frobnicate();
    return wapc_respond(out, sizeof out);
}

static const struct wapc_operation operations[] = {
    {"Roll", roll},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
