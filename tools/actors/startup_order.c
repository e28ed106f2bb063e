/* startup_order: exports every start function the host knows; each logs its name, and
 * Started answers with the names in the order they ran, comma-separated. */
#include "wapc.h"

static char ran[64];
static uint32_t ran_len;

static void note(const char *name) {
    uint32_t i, n = wapc_strlen(name);
    wapc_log(name);
    if (ran_len && ran_len < sizeof ran) ran[ran_len++] = ',';
    for (i = 0; i < n && ran_len < sizeof ran; i++) ran[ran_len++] = name[i];
}

__attribute__((export_name("__wasmbus_rpc_version"))) uint32_t rpc_version(void) {
    note("__wasmbus_rpc_version");
    return 0;
}

__attribute__((export_name("start"))) void start(void) { note("start"); }

__attribute__((export_name("wapc_init"))) void wapc_init(void) { note("wapc_init"); }

__attribute__((export_name("_start"))) void underscore_start(void) { note("_start"); }

static int started(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    return wapc_respond(ran, ran_len);
}

static const struct wapc_operation operations[] = {
    {"Started", started},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
