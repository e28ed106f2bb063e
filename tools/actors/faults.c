/* faults: fails on purpose, so the host's error paths can be tested.
 *
 * Fail answers with a guest error; FailSilently returns 0 without setting one; Count answers
 * with how often it was called in this instance (one byte, to show whether the instance was
 * kept or rebuilt); Unreachable, OutOfBounds, DivideByZero and Recurse trap; WildResponse,
 * WildLog and WildHostError hand the host a pointer outside linear memory (WildHostError after a
 * host call the host refuses), WildEmpty one with nothing to copy. Log logs its payload.
 */
#include "wapc.h"

static volatile int32_t zero;
static uint8_t count;

static int fail(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    return wapc_fail("failed on purpose");
}

static int fail_silently(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    return 0;
}

static int count_calls(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    count++;
    return wapc_respond(&count, 1);
}

static int unreachable(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    __builtin_trap();
}

static int out_of_bounds(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    return *(volatile int32_t *)0xFFFFFFF0u;
}

static int divide_by_zero(const uint8_t *msg, uint32_t len) {
    (void)msg;
    return (int)len / zero;
}

/* No shadow-stack locals and a non-tail call, so the engine's own stack runs out. */
__attribute__((noinline)) static int32_t deeper(int32_t n, int32_t k) {
    if (n == -1) return k;
    return deeper(n + 1, k * 3 + 1) * 7 + deeper(n + 2, k);
}

static int recurse(const uint8_t *msg, uint32_t len) {
    (void)msg;
    return deeper((int32_t)len, 1) == 0;
}

static int wild_response(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    __guest_response((const uint8_t *)0xFFFFFF00u, 64);
    return 1;
}

static int wild_log(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    __console_log((const uint8_t *)0x10u, 0xFFFFFFF0u);
    return wapc_respond("logged", 6);
}

static int wild_empty(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    __guest_response((const uint8_t *)0xFFFFFF00u, 0);
    return 1;
}

static int wild_host_error(const uint8_t *msg, uint32_t len) {
    if (__host_call((const uint8_t *)"x", 1, (const uint8_t *)"x", 1, (const uint8_t *)"x", 1,
                    msg, len))
        return wapc_respond("answered", 8);
    __host_error((uint8_t *)0xFFFFFFF0u);
    return 1;
}

static int log_payload(const uint8_t *msg, uint32_t len) {
    __console_log(msg, len);
    return wapc_respond("logged", 6);
}

static const struct wapc_operation operations[] = {
    {"Fail", fail},
    {"FailSilently", fail_silently},
    {"Count", count_calls},
    {"Unreachable", unreachable},
    {"OutOfBounds", out_of_bounds},
    {"DivideByZero", divide_by_zero},
    {"Recurse", recurse},
    {"WildResponse", wild_response},
    {"WildLog", wild_log},
    {"WildEmpty", wild_empty},
    {"WildHostError", wild_host_error},
    {"Log", log_payload},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
