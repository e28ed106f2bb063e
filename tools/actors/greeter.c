/* greeter: the demo actor `edgehost up` starts. Greet answers "<greeting>, <name>!" with a
 * greeting picked by wasmcloud:builtin:numbergen, and logs whom it greeted through
 * wasmcloud:builtin:logging (both builtins the board serves itself). */
#include "wapc.h"

static const char *GREETINGS[] = {"Hello", "Hi", "Greetings", "Howdy", "Good day"};
#define GREETING_COUNT 5

static uint32_t put(uint8_t *out, uint32_t at, const void *data, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) out[at + i] = ((const uint8_t *)data)[i];
    return at + len;
}

/* a msgpack str header for len bytes (len < 65536) */
static uint32_t put_str_head(uint8_t *out, uint32_t at, uint32_t len) {
    if (len < 32) {
        out[at] = (uint8_t)(0xa0 | len);
        return at + 1;
    }
    if (len < 256) {
        out[at] = 0xd9;
        out[at + 1] = (uint8_t)len;
        return at + 2;
    }
    out[at] = 0xda;
    out[at + 1] = (uint8_t)(len >> 8);
    out[at + 2] = (uint8_t)len;
    return at + 3;
}

/* a msgpack unsigned integer, as numbergen answers Random32 */
static uint32_t read_uint(const uint8_t *msg, uint32_t len) {
    if (len >= 1 && msg[0] < 0x80) return msg[0];
    if (len >= 2 && msg[0] == 0xcc) return msg[1];
    if (len >= 3 && msg[0] == 0xcd) return (uint32_t)msg[1] << 8 | msg[2];
    if (len >= 5 && msg[0] == 0xce)
        return (uint32_t)msg[1] << 24 | (uint32_t)msg[2] << 16 | (uint32_t)msg[3] << 8 | msg[4];
    return 0;
}

static void log_info(const uint8_t *text, uint32_t len) {
    uint8_t *out = wapc_alloc(len + 32);
    uint32_t at = 0;
    out[at++] = 0x82; /* {"level": "info", "text": text} */
    at = put_str_head(out, at, 5);
    at = put(out, at, "level", 5);
    at = put_str_head(out, at, 4);
    at = put(out, at, "info", 4);
    at = put_str_head(out, at, 4);
    at = put(out, at, "text", 4);
    at = put_str_head(out, at, len);
    at = put(out, at, text, len);
    uint8_t *answer;
    uint32_t answer_len;
    wapc_host_call("default", "wasmcloud:builtin:logging", "Logging.WriteLog", out, at,
                   &answer, &answer_len);
}

static int greet(const uint8_t *name, uint32_t len) {
    if (len == 0) {
        name = (const uint8_t *)"world";
        len = 5;
    }
    uint8_t *number;
    uint32_t number_len;
    if (!wapc_host_call("default", "wasmcloud:builtin:numbergen", "NumberGen.Random32", 0, 0,
                        &number, &number_len))
        return wapc_fail2("numbergen refused: ", number, number_len);
    const char *greeting = GREETINGS[read_uint(number, number_len) % GREETING_COUNT];
    uint32_t greeting_len = wapc_strlen(greeting);
    uint8_t *out = wapc_alloc(greeting_len + len + 3);
    uint32_t at = put(out, 0, greeting, greeting_len);
    at = put(out, at, ", ", 2);
    at = put(out, at, name, len);
    at = put(out, at, "!", 1);
    log_info(out, at);
    return wapc_respond(out, at);
}

static const struct wapc_operation operations[] = {
    {"Greet", greet},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
