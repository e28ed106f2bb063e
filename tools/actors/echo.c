/* echo: answers Echo with its payload, and HealthRequest with {"healthy": true}. */
#include "wapc.h"

static int echo(const uint8_t *msg, uint32_t len) { return wapc_respond(msg, len); }

static const struct wapc_operation operations[] = {
    {"Echo", echo},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
