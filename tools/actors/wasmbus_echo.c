/* wasmbus_echo: a wasmbus-rpc style actor (host functions from the wasmbus module, exports
 * __wasmbus_rpc_version) answering Actor.HealthRequest, Echo.Echo, and Echo.Relay, which
 * logs a line and relays its payload to the host as (default, example:relay, Relay.Forward). */
#define WAPC_MODULE "wasmbus"
#include "wapc.h"

__attribute__((export_name("__wasmbus_rpc_version"))) uint32_t wasmbus_rpc_version(void) {
    return 1;
}

static int echo(const uint8_t *msg, uint32_t len) { return wapc_respond(msg, len); }

static int relay(const uint8_t *msg, uint32_t len) {
    uint8_t *out;
    uint32_t out_len;
    wapc_log("relaying");
    if (wapc_host_call("default", "example:relay", "Relay.Forward", msg, len, &out, &out_len))
        return wapc_respond(out, out_len);
    return wapc_fail2("host call failed: ", out, out_len);
}

static const struct wapc_operation operations[] = {
    {"Echo.Echo", echo},
    {"Echo.Relay", relay},
    {"Actor.HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
