/* init_check: in wapc_init it asks the host (default, example:init, Init.Check) whether it
 * may start and traps when the host says no; Crash traps; Echo echoes. For testing what the
 * host does when an instance cannot be rebuilt after a trap. */
#include "wapc.h"

__attribute__((export_name("wapc_init"))) void wapc_init(void) {
    uint8_t *out;
    uint32_t out_len;
    wapc_heap_reset();
    if (!wapc_host_call("default", "example:init", "Init.Check", 0, 0, &out, &out_len))
        __builtin_trap();
}

static int crash(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    __builtin_trap();
}

static int echo(const uint8_t *msg, uint32_t len) { return wapc_respond(msg, len); }

static const struct wapc_operation operations[] = {
    {"Crash", crash},
    {"Echo", echo},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
