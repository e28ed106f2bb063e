/* wapc.h - a small waPC guest library for the project's own C actors (wasm32, no libc).
 *
 * An actor includes this header once, writes one function per operation, lists them in a
 * table and ends with WAPC_EXPORT_GUEST_CALL(table). Define WAPC_MODULE as "wasmbus" before
 * the include to import the host functions from the wasmbus module instead of wapc.
 */
#ifndef EDGEHOST_WAPC_H
#define EDGEHOST_WAPC_H

#include <stddef.h>
#include <stdint.h>

#ifndef WAPC_MODULE
#define WAPC_MODULE "wapc"
#endif

#define WAPC_IMPORT(name) __attribute__((import_module(WAPC_MODULE), import_name(name)))

WAPC_IMPORT("__guest_request") void __guest_request(uint8_t *op, uint8_t *msg);
WAPC_IMPORT("__guest_response") void __guest_response(const uint8_t *ptr, uint32_t len);
WAPC_IMPORT("__guest_error") void __guest_error(const uint8_t *ptr, uint32_t len);
WAPC_IMPORT("__host_call") int32_t __host_call(const uint8_t *bd, uint32_t bd_len,
                                               const uint8_t *ns, uint32_t ns_len,
                                               const uint8_t *op, uint32_t op_len,
                                               const uint8_t *ptr, uint32_t len);
WAPC_IMPORT("__host_response_len") uint32_t __host_response_len(void);
WAPC_IMPORT("__host_response") void __host_response(uint8_t *ptr);
WAPC_IMPORT("__host_error_len") uint32_t __host_error_len(void);
WAPC_IMPORT("__host_error") void __host_error(uint8_t *ptr);
WAPC_IMPORT("__console_log") void __console_log(const uint8_t *ptr, uint32_t len);

/* Bump allocator over linear memory after __heap_base; reset at the start of every call,
 * growing the memory when a call needs more than it has. */
extern unsigned char __heap_base;
static uintptr_t wapc_heap_top;

static inline void wapc_heap_reset(void) { wapc_heap_top = (uintptr_t)&__heap_base; }

static inline void *wapc_alloc(uint32_t size) {
    uintptr_t start = (wapc_heap_top + 7u) & ~(uintptr_t)7u;
    uintptr_t end = start + size;
    uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        uintptr_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
    }
    wapc_heap_top = end;
    return (void *)start;
}

static inline uint32_t wapc_strlen(const char *s) {
    uint32_t n = 0;
    while (s[n]) n++;
    return n;
}

static inline int wapc_equal(const uint8_t *a, uint32_t a_len, const char *b) {
    uint32_t i;
    for (i = 0; i < a_len; i++)
        if (b[i] == 0 || (uint8_t)b[i] != a[i]) return 0;
    return b[a_len] == 0;
}

static inline void wapc_log(const char *text) { __console_log((const uint8_t *)text, wapc_strlen(text)); }

/* Answer the current call with bytes (returns 1, the waPC "ok"). */
static inline int wapc_respond(const void *ptr, uint32_t len) {
    __guest_response((const uint8_t *)ptr, len);
    return 1;
}

/* Fail the current call with a message (returns 0, the waPC "error"). */
static inline int wapc_fail(const char *message) {
    __guest_error((const uint8_t *)message, wapc_strlen(message));
    return 0;
}

/* Fail with a message made of two parts, e.g. a prefix and a name from the request. */
static inline int wapc_fail2(const char *prefix, const uint8_t *detail, uint32_t detail_len) {
    uint32_t n = wapc_strlen(prefix), i;
    uint8_t *buf = (uint8_t *)wapc_alloc(n + detail_len);
    if (!buf) return wapc_fail(prefix);
    for (i = 0; i < n; i++) buf[i] = (uint8_t)prefix[i];
    for (i = 0; i < detail_len; i++) buf[n + i] = detail[i];
    __guest_error(buf, n + detail_len);
    return 0;
}

/* Call the host. On success *out holds the host's response; on failure it holds the host's
 * error text. Returns 1 on success, 0 on failure. */
static inline int wapc_host_call(const char *binding, const char *ns, const char *op,
                          const void *payload, uint32_t len, uint8_t **out, uint32_t *out_len) {
    int ok = __host_call((const uint8_t *)binding, wapc_strlen(binding), (const uint8_t *)ns,
                         wapc_strlen(ns), (const uint8_t *)op, wapc_strlen(op),
                         (const uint8_t *)payload, len) == 1;
    uint32_t n = ok ? __host_response_len() : __host_error_len();
    uint8_t *buf = (uint8_t *)wapc_alloc(n ? n : 1);
    if (!buf) return 0;
    if (ok) __host_response(buf);
    else if (n) __host_error(buf);
    *out = buf;
    *out_len = n;
    return ok;
}

typedef int (*wapc_handler)(const uint8_t *msg, uint32_t len);

struct wapc_operation {
    const char *name;
    wapc_handler handler;
};

static inline int wapc_dispatch(const struct wapc_operation *ops, uint32_t op_len, uint32_t msg_len) {
    uint8_t *op, *msg;
    wapc_heap_reset();
    op = (uint8_t *)wapc_alloc(op_len + 1);
    msg = (uint8_t *)wapc_alloc(msg_len + 1);
    if (!op || !msg) return wapc_fail("out of memory for the request");
    __guest_request(op, msg);
    for (; ops->name; ops++)
        if (wapc_equal(op, op_len, ops->name)) return ops->handler(msg, msg_len);
    return wapc_fail2("unknown operation: ", op, op_len);
}

/* Export __guest_call dispatching to a table ending with {0, 0}. */
#define WAPC_EXPORT_GUEST_CALL(table)                                          \
    __attribute__((export_name("__guest_call"))) int32_t wapc_guest_call(     \
        uint32_t op_len, uint32_t msg_len) {                                   \
        return wapc_dispatch(table, op_len, msg_len);                          \
    }

/* The msgpack answer to a health request: {"healthy": true}. */
static const uint8_t WAPC_HEALTHY[] = {0x81, 0xa7, 'h', 'e', 'a', 'l', 't', 'h', 'y', 0xc3};

/* A health handler for actors that are healthy whenever they can answer. */
static inline int wapc_healthy(const uint8_t *msg, uint32_t len) {
    (void)msg;
    (void)len;
    return wapc_respond(WAPC_HEALTHY, sizeof WAPC_HEALTHY);
}

#endif
