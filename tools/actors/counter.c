/* counter: counts its Count calls. Count answers "<n>:<payload>", n the number of Count calls
 * so far, this one included; Total answers "<n>" and counts nothing. A request run twice shows
 * as a number missing from the answers and a total above the calls made. */
#include "wapc.h"

static uint32_t calls;

static uint32_t decimal(uint8_t *out, uint32_t n) {
    uint8_t digits[10];
    uint32_t len = 0, i;
    do {
        digits[len++] = (uint8_t)('0' + n % 10);
        n /= 10;
    } while (n);
    for (i = 0; i < len; i++) out[i] = digits[len - 1 - i];
    return len;
}

static int count(const uint8_t *msg, uint32_t len) {
    uint8_t *out = (uint8_t *)wapc_alloc(len + 11);
    uint32_t at, i;
    if (!out) return wapc_fail("out of memory");
    at = decimal(out, ++calls);
    out[at++] = ':';
    for (i = 0; i < len; i++) out[at + i] = msg[i];
    return wapc_respond(out, at + len);
}

static int total(const uint8_t *msg, uint32_t len) {
    uint8_t out[10];
    (void)msg;
    (void)len;
    return wapc_respond(out, decimal(out, calls));
}

static const struct wapc_operation operations[] = {
    {"Count", count},
    {"Total", total},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
