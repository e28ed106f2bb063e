/* afterhost: calls out to the host, then works on its own, so that a test can tell the time
 * spent in the host from the guest's own against the call's deadline.
 *
 * Both operations take a number of loop passes (4 bytes little-endian; 0: never stop) to run
 * after the call out: Relay forwards the payload to the host as (default, example:relay, Relay.Forward) and
 * answers with the host's response; Log writes the console line "working" and answers "logged".
 */
#include "wapc.h"

static volatile uint32_t passes_run;

static int work(const uint8_t *msg, uint32_t len) {
    uint32_t passes;
    if (len != 4) return wapc_fail("wants a 4-byte count of loop passes");
    passes = (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
             (uint32_t)msg[3] << 24;
    /* a loop closed by an unconditional branch, as runaway's Spin: the board's wasm3 looks at
     * the clock there, not where a loop is closed by a conditional one */
    if (passes == 0)
        for (;;) passes_run++;
    /* one pass per count, so that the count says how often the loop header is passed */
#pragma clang loop unroll(disable)
    for (uint32_t i = 0; i < passes; i++) passes_run++;
    return 1;
}

static int relay(const uint8_t *msg, uint32_t len) {
    uint8_t *out;
    uint32_t out_len;
    if (!wapc_host_call("default", "example:relay", "Relay.Forward", msg, len, &out, &out_len))
        return wapc_fail2("host call failed: ", out, out_len);
    return work(msg, len) && wapc_respond(out, out_len);
}

static int log_then_work(const uint8_t *msg, uint32_t len) {
    wapc_log("working");
    return work(msg, len) && wapc_respond("logged", 6);
}

static const struct wapc_operation operations[] = {
    {"Relay", relay},
    {"Log", log_then_work},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
