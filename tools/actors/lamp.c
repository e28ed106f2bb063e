/* lamp: the demo actor that uses the board's own hardware, through the board's contract
 * edgehost:sensorled (served by the board itself; its claims must hold that capability).
 * Switch turns the LED on for the payload "on" and off for "off", answering "LED on" or
 * "LED off"; Sense answers "sensor <reading>" from the board's sensor pin. */
#include "wapc.h"

#define CONTRACT "edgehost:sensorled"

static uint32_t put(uint8_t *out, uint32_t at, const void *data, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) out[at + i] = ((const uint8_t *)data)[i];
    return at + len;
}

/* the unsigned integer after the first key "value" in a msgpack map of short keys */
static int read_value(const uint8_t *msg, uint32_t len, uint32_t *value) {
    if (len < 1 || (msg[0] & 0xf0) != 0x80) return 0;
    uint32_t at = 1, entries = msg[0] & 0x0f;
    for (uint32_t i = 0; i < entries && at < len; i++) {
        if ((msg[at] & 0xe0) != 0xa0) return 0;
        uint32_t key_len = msg[at] & 0x1f, key = at + 1;
        at = key + key_len;
        if (at >= len) return 0;
        int is_value = key_len == 5 && wapc_equal(msg + key, 5, "value");
        uint8_t head = msg[at];
        uint32_t n = 0, size = 1;
        if (head < 0x80) n = head;
        else if (head == 0xcc && at + 1 < len) n = msg[at + 1], size = 2;
        else if (head == 0xcd && at + 2 < len) n = (uint32_t)msg[at + 1] << 8 | msg[at + 2], size = 3;
        else if (head == 0xce && at + 4 < len) {
            n = (uint32_t)msg[at + 1] << 24 | (uint32_t)msg[at + 2] << 16 |
                (uint32_t)msg[at + 3] << 8 | msg[at + 4];
            size = 5;
        } else if ((head & 0xe0) == 0xa0) size = 1 + (head & 0x1f);
        else return 0;
        if (is_value && size <= 5 && (head < 0x80 || head >= 0xcc)) {
            *value = n;
            return 1;
        }
        at += size;
    }
    return 0;
}

static int switch_led(const uint8_t *msg, uint32_t len) {
    int on;
    if (wapc_equal(msg, len, "on")) on = 1;
    else if (wapc_equal(msg, len, "off")) on = 0;
    else return wapc_fail("lamp: Switch takes on or off");
    /* {"on": true|false} */
    const uint8_t args[] = {0x81, 0xa2, 'o', 'n', on ? 0xc3 : 0xc2};
    uint8_t *answer;
    uint32_t answer_len;
    if (!wapc_host_call("default", CONTRACT, "SensorLed.SetLed", args, sizeof args, &answer,
                        &answer_len))
        return wapc_fail2("lamp: the board refused: ", answer, answer_len);
    return on ? wapc_respond("LED on", 6) : wapc_respond("LED off", 7);
}

static int sense(const uint8_t *msg, uint32_t len) {
    uint8_t *answer;
    uint32_t answer_len, value;
    if (!wapc_host_call("default", CONTRACT, "SensorLed.ReadSensor", 0, 0, &answer, &answer_len))
        return wapc_fail2("lamp: the board refused: ", answer, answer_len);
    if (!read_value(answer, answer_len, &value)) return wapc_fail("lamp: unreadable sensor answer");
    char digits[10];
    uint32_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    uint8_t *out = wapc_alloc(7 + count);
    uint32_t at = put(out, 0, "sensor ", 7);
    while (count) out[at++] = (uint8_t)digits[--count];
    return wapc_respond(out, at);
}

static const struct wapc_operation operations[] = {
    {"Switch", switch_led},
    {"Sense", sense},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
