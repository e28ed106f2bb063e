/* rust_greeter: an actor of the shape the wasmCloud Rust toolchain makes (see rustshape.h):
 * Greeter.Greet takes msgpack {"name": str} and answers {"greeting": str, "rpc": uint};
 * Actor.HealthRequest answers {"healthy": true}.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=1114112
 */
#include "rustshape.h"

#ifndef GREETING
#define GREETING "Hello, "
#endif

static int greet(const uint8_t *msg, uint32_t len) {
    struct mp_reader r;
    struct mp_writer w;
    const uint8_t *name;
    uint32_t name_len;
    if (!mp_find(msg, len, "name", &r) || !mp_bytes(&r, &name, &name_len))
        return wapc_fail("Greeter.Greet: payload must be a msgpack map with a str \"name\"");
    w.p = (uint8_t *)wapc_alloc(64 + name_len);
    w.at = 0;
    if (!w.p) return wapc_fail("out of memory for the answer");
    mp_put_map(&w, 2);
    mp_put_cstr(&w, "greeting");
    {
        uint32_t prefix = wapc_strlen(GREETING), total = prefix + name_len + 1;
        uint8_t *text = (uint8_t *)wapc_alloc(total);
        uint32_t i;
        if (!text) return wapc_fail("out of memory for the answer");
        for (i = 0; i < prefix; i++) text[i] = (uint8_t)GREETING[i];
        for (i = 0; i < name_len; i++) text[prefix + i] = name[i];
        text[total - 1] = '!';
        mp_put_str(&w, text, total);
    }
    mp_put_cstr(&w, "rpc");
    mp_put_uint(&w, wasmbus_rpc_version());
    return wapc_respond(w.p, w.at);
}

static const struct wapc_operation operations[] = {
    {"Greeter.Greet", greet},
    {"Actor.HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
