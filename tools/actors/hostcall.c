/* hostcall: Relay forwards its payload to the host as (default, example:relay, Relay.Forward)
 * and answers with the host's response, or fails with the host's error. */
#include "wapc.h"

static int relay(const uint8_t *msg, uint32_t len) {
    uint8_t *out;
    uint32_t out_len;
    if (wapc_host_call("default", "example:relay", "Relay.Forward", msg, len, &out, &out_len))
        return wapc_respond(out, out_len);
    return wapc_fail2("host call failed: ", out, out_len);
}

static const struct wapc_operation operations[] = {
    {"Relay", relay},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
