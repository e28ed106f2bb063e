/* relay: the demo actor that calls another by call alias. Greet passes its payload (a name) on
 * to the actor with call alias "greeter" (on this board or anywhere on the lattice) and answers
 * "relayed: <the greeter's answer>"; a greeter that cannot be reached is an error naming it. */
#include "wapc.h"

#define PREFIX "relayed: "
#define PREFIX_LEN 9

static int greet(const uint8_t *name, uint32_t len) {
    uint8_t *answer;
    uint32_t answer_len;
    if (!wapc_host_call("default", "greeter", "Greet", name, len, &answer, &answer_len))
        return wapc_fail2("relay: the actor with call alias greeter did not answer: ", answer,
                          answer_len);
    uint8_t *out = wapc_alloc(PREFIX_LEN + answer_len);
    for (uint32_t i = 0; i < PREFIX_LEN; i++) out[i] = (uint8_t)PREFIX[i];
    for (uint32_t i = 0; i < answer_len; i++) out[PREFIX_LEN + i] = answer[i];
    return wapc_respond(out, PREFIX_LEN + answer_len);
}

static const struct wapc_operation operations[] = {
    {"Greet", greet},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
