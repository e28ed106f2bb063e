/* grow: grows its linear memory during a call.
 *
 * Fill answers with N bytes of a counting pattern (N is the payload, 4 bytes little-endian),
 * allocated past the memory it started with. GrowThenRelay first allocates N bytes, then
 * relays the rest of its payload to the host as (default, example:relay, Relay.Forward), so
 * the host's response lands in memory that did not exist when the call began.
 */
#include "wapc.h"

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int fill(const uint8_t *msg, uint32_t len) {
    uint32_t n, i;
    uint8_t *out;
    if (len != 4) return wapc_fail("Fill wants a 4-byte length");
    n = read_u32(msg);
    out = (uint8_t *)wapc_alloc(n);
    if (!out) return wapc_fail("out of memory");
    for (i = 0; i < n; i++) out[i] = (uint8_t)(i % 251);
    return wapc_respond(out, n);
}

static int grow_then_relay(const uint8_t *msg, uint32_t len) {
    uint8_t *out;
    uint32_t out_len;
    if (len < 4) return wapc_fail("GrowThenRelay wants a 4-byte length first");
    if (!wapc_alloc(read_u32(msg))) return wapc_fail("out of memory");
    if (wapc_host_call("default", "example:relay", "Relay.Forward", msg + 4, len - 4, &out,
                       &out_len))
        return wapc_respond(out, out_len);
    return wapc_fail2("host call failed: ", out, out_len);
}

static const struct wapc_operation operations[] = {
    {"Fill", fill},
    {"GrowThenRelay", grow_then_relay},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
