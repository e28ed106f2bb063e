/* tinygo_style: shaped like a TinyGo guest. It imports WASI fd_write (TinyGo's runtime
 * prints through it), needs _start to have run before it serves, and answers Echo after
 * writing a line to stdout. */
#include "wapc.h"

struct ciovec {
    const uint8_t *buf;
    uint32_t len;
};

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t
fd_write(int32_t fd, const struct ciovec *iovs, uint32_t iovs_len, uint32_t *written);

static int initialised;

static int print(const char *text) {
    struct ciovec iov = {(const uint8_t *)text, wapc_strlen(text)};
    uint32_t written = 0;
    return fd_write(1, &iov, 1, &written) == 0 && written == iov.len;
}

__attribute__((export_name("_start"))) void start(void) { initialised = print("runtime up\n"); }

static int echo(const uint8_t *msg, uint32_t len) {
    if (!initialised) return wapc_fail("runtime not initialised: _start did not run");
    if (!print("echo\n")) return wapc_fail("fd_write failed");
    return wapc_respond(msg, len);
}

static const struct wapc_operation operations[] = {
    {"Echo", echo},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)
