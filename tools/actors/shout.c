/* shout: answers Echo with its payload in upper case (ASCII); the other half of hot-swap
 * tests, next to echo. */
#include "wapc.h"

static int shout(const uint8_t *msg, uint32_t len) {
    uint8_t *out = (uint8_t *)wapc_alloc(len ? len : 1);
    uint32_t i;
    if (!out) return wapc_fail("out of memory");
    for (i = 0; i < len; i++) out[i] = (msg[i] >= 'a' && msg[i] <= 'z') ? msg[i] - 32 : msg[i];
    return wapc_respond(out, len);
}

static const struct wapc_operation operations[] = {
    {"Echo", shout},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
