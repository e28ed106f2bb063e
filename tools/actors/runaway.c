/* runaway: an actor that does not stop, so the board's deadline can be tested.
 *
 * Spin loops forever without a call; SpinCalls loops forever calling a function; LogThenSpin
 * logs "spinning" first (so a test knows the loop has begun); SpinCounted makes the payload's
 * number of passes (4 bytes little-endian) of a counted loop without calls, which closes with
 * br_if where Spin's closes with br, and answers with the passes made (4 bytes); Grow grows
 * linear memory by the payload's
 * pages (4 bytes little-endian) and answers with memory.grow's result (4 bytes, -1 when
 * refused); Count answers how often it was called in this instance (one byte).
 */
#include "wapc.h"

static uint8_t count;
static volatile uint32_t spins;

static int spin(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    for (;;) spins++;
}

static int log_then_spin(const uint8_t *msg, uint32_t len) {
    wapc_log("spinning");
    return spin(msg, len);
}

static uint32_t read_u32(const uint8_t *msg) {
    return (uint32_t)msg[0] | (uint32_t)msg[1] << 8 | (uint32_t)msg[2] << 16 |
           (uint32_t)msg[3] << 24;
}

static int respond_u32(uint32_t value) {
    uint8_t out[4];
    out[0] = (uint8_t)value;
    out[1] = (uint8_t)(value >> 8);
    out[2] = (uint8_t)(value >> 16);
    out[3] = (uint8_t)(value >> 24);
    return wapc_respond(out, 4);
}

static int spin_counted(const uint8_t *msg, uint32_t len) {
    uint32_t passes, i;
    if (len != 4) return wapc_fail("SpinCounted wants a 4-byte pass count");
    passes = read_u32(msg);
    for (i = 0; i < passes; i++) spins += i;  // volatile: the loop is not folded away
    return respond_u32(i);
}

__attribute__((noinline)) static void step(void) { spins++; }

static int spin_calls(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    for (;;) step();
}

static int grow(const uint8_t *msg, uint32_t len) {
    if (len != 4) return wapc_fail("Grow wants a 4-byte page count");
    return respond_u32((uint32_t)__builtin_wasm_memory_grow(0, read_u32(msg)));
}

static int count_calls(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    count++;
    return wapc_respond(&count, 1);
}

static const struct wapc_operation operations[] = {
    {"Spin", spin},
    {"SpinCalls", spin_calls},
    {"LogThenSpin", log_then_spin},
    {"SpinCounted", spin_counted},
    {"Grow", grow},
    {"Count", count_calls},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
