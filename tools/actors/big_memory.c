/* big_memory: an Echo actor declaring 17 pages (1.1 MiB) of linear memory up front, as most
 * Rust actors do; a board without PSRAM must refuse it.
 * build-flags: -Wl,--initial-memory=1114112
 */
#include "wapc.h"

static int echo(const uint8_t *msg, uint32_t len) { return wapc_respond(msg, len); }

static const struct wapc_operation operations[] = {
    {"Echo", echo},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
