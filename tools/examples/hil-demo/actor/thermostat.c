/* thermostat: Decide takes a temperature in whole degrees Celsius as text ("18", "-4") and
 * answers "heat" below 19, "cool" above 23, "hold" between; it logs each decision. Anything
 * that is not a whole number is an error naming what came. */
#include "wapc.h"

#define LOW 19
#define HIGH 23

static int parse(const uint8_t *text, uint32_t len, int32_t *out) {
    uint32_t i = 0;
    int32_t sign = 1, value = 0;
    if (len && text[0] == '-') {
        sign = -1;
        i = 1;
    }
    if (i == len || len - i > 4) return 0;
    for (; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') return 0;
        value = value * 10 + (text[i] - '0');
    }
    *out = sign * value;
    return 1;
}

static int decide(const uint8_t *msg, uint32_t len) {
    int32_t degrees;
    if (!parse(msg, len, &degrees)) return wapc_fail2("not a temperature in whole degrees: ", msg, len);
    if (degrees < LOW) {
        wapc_log("thermostat: too cold, heating");
        return wapc_respond("heat", 4);
    }
    if (degrees > HIGH) {
        wapc_log("thermostat: too warm, cooling");
        return wapc_respond("cool", 4);
    }
    wapc_log("thermostat: comfortable, holding");
    return wapc_respond("hold", 4);
}

static const struct wapc_operation operations[] = {
    {"Decide", decide},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
