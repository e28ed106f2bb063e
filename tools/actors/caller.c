/* caller: Call makes the host call its payload names and answers with the host's response.
 * The payload is "BINDING|NAMESPACE|OPERATION|DATA": the namespace may be an actor's key, a
 * call alias or a contract id, so one actor reaches others on the board or on the lattice. */
#include "wapc.h"

#define FIELDS 3

static int call(const uint8_t *msg, uint32_t len) {
    char *field[FIELDS];
    uint32_t at = 0;
    for (int i = 0; i < FIELDS; i++) {
        uint32_t start = at;
        while (at < len && msg[at] != '|') at++;
        if (at == len) return wapc_fail("payload must be BINDING|NAMESPACE|OPERATION|DATA");
        field[i] = wapc_alloc(at - start + 1);
        for (uint32_t j = start; j < at; j++) field[i][j - start] = (char)msg[j];
        field[i][at - start] = 0;
        at++;
    }
    uint8_t *out;
    uint32_t out_len;
    if (wapc_host_call(field[0], field[1], field[2], msg + at, len - at, &out, &out_len))
        return wapc_respond(out, out_len);
    return wapc_fail2("host call failed: ", out, out_len);
}

static const struct wapc_operation operations[] = {
    {"Call", call},
    {"HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
