/* spin: Spin never returns (a busy loop the engine cannot see the end of), for tests of what
 * happens to a call whose board goes away or whose actor runs away. */
#include "wapc.h"

static int spin(const uint8_t *msg, uint32_t len) {
    volatile uint32_t counter = len;
    for (;;) counter++;
    return wapc_respond(msg, len);
}

static const struct wapc_operation operations[] = {
    {"Spin", spin},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
