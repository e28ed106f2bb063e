// wasm3 for MicroPython, shaped like pywasm3 (Environment, Runtime, Module, Function), plus what
// the board needs: a memory cap enforced on memory.grow, a per-call deadline, a native-stack
// floor taken from MicroPython's own limit, linear memory apart from MicroPython's heap, and the
// waPC exchange's host functions that need no Python.

#include <string.h>

#include "py/gc.h"
#include "py/mphal.h"
#include "py/nlr.h"
#include "py/objarray.h"
#include "py/objint.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "py/unicode.h"

// This file defines the probes wasm3 calls from its ops, so it sees their declarations.
#define d_m3LogNativeStack 1
#include "m3_board_config.h"
#include "wasm3.h"
#include "m3_env.h"
#include "m3_function.h"

#define MAX_VALUES 16               // arguments or results of one function
#define CHECK_EVERY 1024            // deadline probes between two looks at the clock
#ifndef EDGEHOST_WASM3_STACK_RESERVE
#define EDGEHOST_WASM3_STACK_RESERVE (4 * 1024)  // native stack kept for host functions
#endif

static const char trap_deadline[] = "[trap] deadline exceeded";
static const char trap_host_raised[] = "[trap] host function raised an exception";

// ---- allocation: wasm3's calloc, realloc and free (see vm/vm_core.c), and linear memory's
//
// wasm3's structures are on MicroPython's heap, reachable from the Python objects below
// (runtime, module and environment pointers, and from there wasm3's own lists), so the
// collector keeps them while those live and reclaims them with them.
//
// An actor's linear memory is not: a 17-page actor needs 1088 KiB in one block, and a heap
// that never moves a block holds MBs free after installs, swaps and removes only in smaller
// pieces (issue 28). vm/vm_env.c routes wasm3's one call that sizes linear memory
// (ResizeMemory) here, to the system's allocator: the C library's malloc on the unix port
// (glibc maps blocks this large on their own, so they leave no holes), and on the ESP32 the
// IDF heap, in PSRAM where the firmware has it. MicroPython 1.28's ESP32 port grows its split
// GC heap from that same IDF heap (gc_get_max_new_split in ports/esp32/gccollect.c), so PSRAM
// is one pool shared first come, first served: the limit below keeps actors' linear memory to
// the profile's share of it, and the rest stays for the Python heap to grow into.
//
// Memory outside the heap is not collected: a runtime's finaliser frees it. Where the port
// has no finalisers, linear memory stays on the heap.

#define LINEAR_OUTSIDE_HEAP MICROPY_ENABLE_FINALISER

#if LINEAR_OUTSIDE_HEAP && defined(ESP_PLATFORM)
#include "sdkconfig.h"
#include "esp_heap_caps.h"
#if CONFIG_SPIRAM
#define LINEAR_CAPS (MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT)
#else
#define LINEAR_CAPS MALLOC_CAP_8BIT
#endif
#define system_realloc(ptr, size) heap_caps_realloc((ptr), (size), LINEAR_CAPS)
#define system_free(ptr) heap_caps_free(ptr)
#elif LINEAR_OUTSIDE_HEAP
#include <stdlib.h>
#define system_realloc(ptr, size) realloc((ptr), (size))
#define system_free(ptr) free(ptr)
#endif

void *edgehost_m3_calloc(size_t num, size_t size) {
    size_t n = num * size;
    void *ptr = gc_alloc(n ? n : 1, 0);
    if (ptr) {
        memset(ptr, 0, n);
    }
    return ptr;
}

void *edgehost_m3_realloc(void *ptr, size_t size) {
    // wasm3 zeroes what it gains itself (m3_Realloc_Impl)
    return gc_realloc(ptr, size ? size : 1, true);
}

#if LINEAR_OUTSIDE_HEAP

// Each block carries its size, so that freeing it gives back what it took from the limit.
typedef union _linear_header_t {
    size_t size;
    uint64_t align;  // the wasm memory behind it stays 8-byte aligned
} linear_header_t;

static size_t linear_limit = 0;  // bytes; 0: none but the allocator's own
static size_t linear_used = 0;

static void *linear_resize(void *ptr, size_t new_size, size_t old_size) {
    if (linear_limit && new_size > old_size
        && (linear_used > linear_limit || new_size - old_size > linear_limit - linear_used)) {
        return NULL;
    }
    linear_header_t *header = ptr ? (linear_header_t *)ptr - 1 : NULL;
    header = system_realloc(header, sizeof(linear_header_t) + new_size);
    if (!header) {
        return NULL;
    }
    header->size = new_size;
    linear_used = linear_used - old_size + new_size;
    return header + 1;
}

static void linear_free(void *ptr) {
    linear_header_t *header = (linear_header_t *)ptr - 1;
    linear_used -= header->size;
    system_free(header);
}

void edgehost_m3_free(void *ptr) {
    if (!ptr) {
        return;
    }
    // only linear memory comes from outside the heap, and the heap knows its own blocks
    if (gc_nbytes(ptr)) {
        gc_free(ptr);
    } else {
        linear_free(ptr);
    }
}

#else

void edgehost_m3_free(void *ptr) {
    if (ptr) {
        gc_free(ptr);
    }
}

#endif

// wasm3's m3_Realloc in ResizeMemory (vm/vm_env.c): an actor's linear memory, made or grown.
void *edgehost_m3_linear_realloc(void *ptr, size_t new_size, size_t old_size) {
    #if LINEAR_OUTSIDE_HEAP
    void *mem = linear_resize(ptr, new_size, old_size);
    if (!mem) {
        // Runtimes that are garbage but not yet collected hold theirs until their finalisers
        // run: collect once before giving up, as a failed gc_alloc does.
        gc_collect();
        mem = linear_resize(ptr, new_size, old_size);
    }
    #else
    void *mem = edgehost_m3_realloc(ptr, new_size);
    #endif
    if (mem && new_size > old_size) {
        memset((uint8_t *)mem + old_size, 0, new_size - old_size);  // as m3_Realloc_Impl does
    }
    return mem;
}

// ---- the deadline: a clock per guest entry, probed by wasm3 on calls, loops and returns

typedef struct _call_clock_t {
    mp_uint_t deadline;
    uint32_t countdown;
} call_clock_t;

// The innermost guest entry with a deadline, or NULL; one per thread where MicroPython has
// threads (the unix port runs them without a GIL).
#if MICROPY_PY_THREAD && defined(__GNUC__)
static __thread call_clock_t *active_clock;
#else
static call_clock_t *active_clock;
#endif

static bool clock_expired(call_clock_t *clock) {
    clock->countdown = CHECK_EVERY;
    return (mp_int_t)(mp_hal_ticks_ms() - clock->deadline) >= 0;
}

// wasm3 calls m3_Yield() on every function call (a weak no-op upstream): a trap it returns
// unwinds the guest like any other.
M3Result m3_Yield(void) {
    call_clock_t *clock = active_clock;
    if (clock && --clock->countdown == 0 && clock_expired(clock)) {
        return trap_deadline;
    }
    return m3Err_none;
}

// wasm3's native-stack probe (d_m3LogNativeStack) sits on loop back-edges and returns, where
// a loop without calls would never reach m3_Yield. It cannot return a trap, so it raises one:
// the guest entry below catches it and resets what wasm3 would have reset.
void m3StackCheck(void) {
    call_clock_t *clock = active_clock;
    if (clock && --clock->countdown == 0 && clock_expired(clock)) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("[trap] deadline exceeded"));
    }
}

void m3StackCheckInit(void) {
}

int m3StackGetMax(void) {
    return 0;
}

// ---- objects

typedef struct _env_obj_t {
    mp_obj_base_t base;
    IM3Environment env;
} env_obj_t;

typedef struct _runtime_obj_t {
    mp_obj_base_t base;
    mp_obj_t env;
    IM3Runtime rt;
    mp_obj_t modules;   // the loaded modules, kept alive with their host functions
    mp_obj_t pending;   // the exception a host function raised during this entry
    mp_obj_t view;      // the last memoryview of linear memory, reused while it is current
    uint32_t memory_cap;   // pages; 0: what the module declares
    uint32_t deadline_ms;  // per entry into the guest; 0: none
} runtime_obj_t;

typedef struct _module_obj_t {
    mp_obj_base_t base;
    mp_obj_t env;
    mp_obj_t data;      // wasm3 keeps pointers into the bytes it parsed
    mp_obj_t links;     // the host functions linked into it
    IM3Module mod;
    runtime_obj_t *runtime;
} module_obj_t;

typedef struct _function_obj_t {
    mp_obj_base_t base;
    runtime_obj_t *runtime;
    IM3Function fn;
} function_obj_t;

static const mp_obj_type_t env_type;
static const mp_obj_type_t runtime_type;
static const mp_obj_type_t module_type;
static const mp_obj_type_t function_type;

// pywasm3's error shape: the result, then wasm3's detail in brackets when it has one.
static MP_NORETURN void raise_result(IM3Runtime rt, M3Result result) {
    M3ErrorInfo info;
    memset(&info, 0, sizeof(info));
    if (rt) {
        m3_GetErrorInfo(rt, &info);
    }
    mp_obj_t text;
    if (info.message && info.message[0] && strcmp(info.message, result) != 0) {
        vstr_t vstr;
        vstr_init(&vstr, strlen(result) + strlen(info.message) + 3);
        vstr_add_str(&vstr, result);
        vstr_add_str(&vstr, " (");
        vstr_add_str(&vstr, info.message);
        vstr_add_char(&vstr, ')');
        text = mp_obj_new_str_from_vstr(&vstr);
    } else {
        text = mp_obj_new_str(result, strlen(result));
    }
    if (rt) {
        m3_ResetErrorInfo(rt);
    }
    nlr_raise(mp_obj_new_exception_arg1(&mp_type_RuntimeError, text));
}

// ---- values between Python and wasm slots (64 bits each)

static void to_slot(mp_obj_t value, uint8_t type, uint64_t *slot) {
    switch (type) {
        case c_m3Type_i32:
            *(int32_t *)slot = (int32_t)mp_obj_get_int_truncated(value);
            break;
        case c_m3Type_i64: {
            long long n;
            if (mp_obj_is_small_int(value)) {
                n = MP_OBJ_SMALL_INT_VALUE(value);
            } else {
                // the low 64 bits of a big int
                uint8_t buf[8];
                mp_obj_int_to_bytes_impl(value, false, 8, buf);
                memcpy(&n, buf, 8);
            }
            *(int64_t *)slot = n;
            break;
        }
        #if MICROPY_PY_BUILTINS_FLOAT
        case c_m3Type_f32:
            *(float *)slot = (float)mp_obj_get_float(value);
            break;
        case c_m3Type_f64:
            *(double *)slot = (double)mp_obj_get_float(value);
            break;
        #endif
        default:
            mp_raise_TypeError(MP_ERROR_TEXT("wasm value type not supported"));
    }
}

static mp_obj_t from_slot(const uint64_t *slot, uint8_t type) {
    switch (type) {
        case c_m3Type_i32:
            return mp_obj_new_int(*(const int32_t *)slot);
        case c_m3Type_i64:
            return mp_obj_new_int_from_ll(*(const int64_t *)slot);
        #if MICROPY_PY_BUILTINS_FLOAT
        case c_m3Type_f32:
            return mp_obj_new_float((mp_float_t)*(const float *)slot);
        case c_m3Type_f64:
            return mp_obj_new_float((mp_float_t)*(const double *)slot);
        #endif
        default:
            return mp_const_none;
    }
}

// ---- entering the guest: native-stack floor, deadline, and what a raise must undo

typedef struct _guard_t {
    call_clock_t clock;
    call_clock_t *outer_clock;
    void *outer_floor;
} guard_t;

static void guard_enter(runtime_obj_t *self, guard_t *guard) {
    IM3Runtime rt = self->rt;
    guard->outer_clock = active_clock;
    guard->outer_floor = rt->stackLimit;
    if (!rt->stackLimit) {
        #if MICROPY_STACK_CHECK
        // MicroPython's own limit is the real stack's: the guest may use it down to a reserve
        // left for the host functions it calls.
        rt->stackLimit = MP_STATE_THREAD(stack_top) - MP_STATE_THREAD(stack_limit)
            + EDGEHOST_WASM3_STACK_RESERVE;
        #endif
    }
    if (self->deadline_ms) {
        guard->clock.deadline = mp_hal_ticks_ms() + self->deadline_ms;
        guard->clock.countdown = CHECK_EVERY;
        active_clock = &guard->clock;
    } else {
        active_clock = NULL;
    }
    self->pending = MP_OBJ_NULL;
}

static void guard_leave(runtime_obj_t *self, guard_t *guard) {
    active_clock = guard->outer_clock;
    self->rt->stackLimit = guard->outer_floor;
}

// After a failed entry: the host function's own exception if one raised, else the trap.
static MP_NORETURN void raise_entry_failure(runtime_obj_t *self, M3Result result) {
    mp_obj_t pending = self->pending;
    if (pending != MP_OBJ_NULL) {
        self->pending = MP_OBJ_NULL;
        nlr_raise(pending);
    }
    raise_result(self->rt, result);
}

// ---- host functions: one trampoline for every Python callable linked into a module

// Time in the host does not count against the guest's deadline: the clock stops while Python
// code runs and the deadline moves on by what it took.
typedef struct _host_time_t {
    call_clock_t *clock;
    mp_uint_t entered;
} host_time_t;

static void host_time_begin(host_time_t *time) {
    time->clock = active_clock;
    time->entered = time->clock ? mp_hal_ticks_ms() : 0;
    active_clock = NULL;
}

static void host_time_end(host_time_t *time) {
    if (time->clock) {
        time->clock->deadline += mp_hal_ticks_ms() - time->entered;
    }
    active_clock = time->clock;
}

static const void *host_trampoline(IM3Runtime rt, IM3ImportContext ctx, uint64_t *sp, void *mem) {
    (void)mem;
    runtime_obj_t *self = m3_GetUserData(rt);
    IM3FuncType type = ctx->function->funcType;
    uint32_t nrets = type->numRets;
    uint32_t nargs = type->numArgs;
    M3Result result = m3Err_none;
    host_time_t time;
    host_time_begin(&time);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t args[MAX_VALUES];
        for (uint32_t i = 0; i < nargs; i++) {
            args[i] = from_slot(&sp[nrets + i], type->types[nrets + i]);
        }
        mp_obj_t answer = mp_call_function_n_kw(MP_OBJ_FROM_PTR(ctx->userdata), nargs, 0, args);
        if (nrets == 1) {
            to_slot(answer, type->types[0], &sp[0]);
        } else if (nrets > 1) {
            mp_obj_t *items;
            mp_obj_get_array_fixed_n(answer, nrets, &items);
            for (uint32_t i = 0; i < nrets; i++) {
                to_slot(items[i], type->types[i], &sp[i]);
            }
        }
        nlr_pop();
    } else {
        self->pending = MP_OBJ_FROM_PTR(nlr.ret_val);
        result = trap_host_raised;
    }
    host_time_end(&time);
    return result;
}

// ---- the waPC exchange: the host functions that need no Python
//
// What edgehost/wapc.py's Exchange does in Python for the simulator, done here for the board:
// begin() sets the call's operation and payload and resets its state, and the guest's request,
// answer and error, the host call's answer or error and console lines move between linear
// memory and Python objects without a Python frame. __host_call stays in Python, which stores
// its outcome in host_response and host_error. A pointer outside linear memory traps the guest
// with the cause the Python exchange gives (a RuntimeError("[trap] ...") like wasm3's own).

typedef struct _exchange_obj_t {
    mp_obj_base_t base;
    runtime_obj_t *runtime;
    mp_obj_t operation;     // the call's, as begin() got them
    mp_obj_t payload;
    mp_obj_t response;      // None until the guest answers
    mp_obj_t error;         // None until the guest reports an error
    mp_obj_t host_response; // the last host call's outcome, set from Python
    mp_obj_t host_error;
    mp_obj_t on_log;        // callable(text) or None
    mp_obj_t status;        // what __guest_call returned, kept by call()
    mp_uint_t max_payload;
    mp_uint_t max_log;
    mp_uint_t oversize;     // the length of an answer or error above max_payload, else 0
} exchange_obj_t;

static const mp_obj_type_t exchange_type;

static uint32_t arg_u32(const uint64_t *slot) {
    return *(const uint32_t *)slot;
}

// The `length` bytes at `ptr`, or a trap naming `what` if they run past linear memory. As in
// the Python exchange, a copy of nothing never traps; only a console line's span is checked
// even when empty (`strict`).
static uint8_t *guest_span(IM3Runtime rt, uint32_t ptr, uint32_t length, const char *what,
    bool strict) {
    static uint8_t nothing;
    uint32_t size = 0;
    uint8_t *mem = m3_GetMemory(rt, &size, 0);
    if (length == 0 && !strict) {
        return &nothing;
    }
    if (!mem || (uint64_t)ptr + length > size) {
        vstr_t vstr;
        mp_print_t print;
        vstr_init_print(&vstr, 96, &print);
        mp_printf(&print, "[trap] %s: %u bytes at 0x%x run past the end of linear memory (%u bytes)",
            what, (unsigned)length, (unsigned)ptr, (unsigned)size);
        nlr_raise(mp_obj_new_exception_arg1(&mp_type_RuntimeError,
            mp_obj_new_str_from_vstr(&vstr)));
    }
    return mem + ptr;
}

// The guest's answer or error: its bytes, or b"" and the length kept in `oversize` when it is
// above the limit (the call then fails with PayloadTooLarge).
static mp_obj_t take_bytes(exchange_obj_t *self, IM3Runtime rt, const uint64_t *args,
    const char *what) {
    uint32_t ptr = arg_u32(&args[0]);
    uint32_t length = arg_u32(&args[1]);
    const uint8_t *data = guest_span(rt, ptr, length, what, false);
    if (length > self->max_payload) {
        self->oversize = length;
        return mp_const_empty_bytes;
    }
    return mp_obj_new_bytes(data, length);
}

// The bytes of what the exchange holds (`what` names it): bytes, bytearray or memoryview.
static void get_bytes(mp_obj_t data, mp_buffer_info_t *buf, qstr what) {
    if (!mp_get_buffer(data, buf, MP_BUFFER_READ)) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%q must be bytes, bytearray or memoryview, not %s"), what,
            mp_obj_get_type_str(data));
    }
}

static void put_bytes(IM3Runtime rt, uint32_t ptr, mp_obj_t data, qstr field,
    const char *what) {
    mp_buffer_info_t buf;
    get_bytes(data, &buf, field);
    memcpy(guest_span(rt, ptr, buf.len, what, false), buf.buf, buf.len);
}

static uint32_t bytes_len(mp_obj_t data, qstr what) {
    mp_buffer_info_t buf;
    get_bytes(data, &buf, what);
    return (uint32_t)buf.len;
}

static bool is_utf8(const uint8_t *data, size_t length) {
    #if MICROPY_PY_BUILTINS_STR_UNICODE_CHECK
    return utf8_check(data, length);
    #else
    (void)data;
    (void)length;
    return true;
    #endif
}

// A console line: at most max_log bytes of it, as text (or the repr of its bytes when they are
// not UTF-8), with its full length when cut; a failing log handler does not abort the call.
static void console_log(exchange_obj_t *self, IM3Runtime rt, const uint64_t *args) {
    uint32_t ptr = arg_u32(&args[0]);
    uint32_t length = arg_u32(&args[1]);
    const uint8_t *data = guest_span(rt, ptr, length, "__console_log", true);
    if (self->on_log == mp_const_none) {
        return;
    }
    size_t shown = length < self->max_log ? length : self->max_log;
    vstr_t vstr;
    mp_print_t print;
    vstr_init_print(&vstr, shown + 24, &print);
    if (is_utf8(data, shown)) {
        vstr_add_strn(&vstr, (const char *)data, shown);
    } else {
        mp_obj_print_helper(&print, mp_obj_new_bytes(data, shown), PRINT_REPR);
    }
    if (shown < length) {
        mp_printf(&print, "... (%u bytes)", (unsigned)length);
    }
    mp_obj_t text = mp_obj_new_str_from_vstr(&vstr);
    host_time_t time;
    host_time_begin(&time);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_call_function_1(self->on_log, text);
        nlr_pop();
    } else {
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)),
            MP_OBJ_FROM_PTR(&mp_type_Exception))) {
            host_time_end(&time);
            nlr_jump(nlr.ret_val);  // e.g. KeyboardInterrupt: the call stops
        }
    }
    host_time_end(&time);
}

enum {
    SERVE_GUEST_REQUEST, SERVE_GUEST_RESPONSE, SERVE_GUEST_ERROR, SERVE_HOST_RESPONSE_LEN,
    SERVE_HOST_RESPONSE, SERVE_HOST_ERROR_LEN, SERVE_HOST_ERROR, SERVE_CONSOLE_LOG,
};

static const void *exchange_serve(IM3Runtime rt, IM3ImportContext ctx, uint64_t *sp, int what) {
    exchange_obj_t *self = ctx->userdata;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) != 0) {
        self->runtime->pending = MP_OBJ_FROM_PTR(nlr.ret_val);
        return trap_host_raised;
    }
    switch (what) {
        case SERVE_GUEST_REQUEST: {
            mp_buffer_info_t operation, payload;
            get_bytes(self->operation, &operation, MP_QSTR_operation);
            get_bytes(self->payload, &payload, MP_QSTR_payload);
            uint8_t *op_at = guest_span(rt, arg_u32(&sp[0]), operation.len,
                "__guest_request operation", false);
            uint8_t *payload_at = guest_span(rt, arg_u32(&sp[1]), payload.len,
                "__guest_request payload", false);
            memcpy(op_at, operation.buf, operation.len);
            memcpy(payload_at, payload.buf, payload.len);
            break;
        }
        case SERVE_GUEST_RESPONSE:
            self->response = take_bytes(self, rt, sp, "__guest_response");
            break;
        case SERVE_GUEST_ERROR:
            self->error = take_bytes(self, rt, sp, "__guest_error");
            break;
        case SERVE_HOST_RESPONSE_LEN:
            *(uint32_t *)&sp[0] = bytes_len(self->host_response, MP_QSTR_host_response);
            break;
        case SERVE_HOST_RESPONSE:
            put_bytes(rt, arg_u32(&sp[0]), self->host_response, MP_QSTR_host_response,
                "__host_response");
            break;
        case SERVE_HOST_ERROR_LEN:
            *(uint32_t *)&sp[0] = bytes_len(self->host_error, MP_QSTR_host_error);
            break;
        case SERVE_HOST_ERROR:
            put_bytes(rt, arg_u32(&sp[0]), self->host_error, MP_QSTR_host_error,
                "__host_error");
            break;
        default:
            console_log(self, rt, sp);
            break;
    }
    nlr_pop();
    return m3Err_none;
}

#define SERVED(fn, what) \
    static const void *fn(IM3Runtime rt, IM3ImportContext ctx, uint64_t *sp, void *mem) { \
        (void)mem; \
        return exchange_serve(rt, ctx, sp, what); \
    }
SERVED(serve_guest_request, SERVE_GUEST_REQUEST)
SERVED(serve_guest_response, SERVE_GUEST_RESPONSE)
SERVED(serve_guest_error, SERVE_GUEST_ERROR)
SERVED(serve_host_response_len, SERVE_HOST_RESPONSE_LEN)
SERVED(serve_host_response, SERVE_HOST_RESPONSE)
SERVED(serve_host_error_len, SERVE_HOST_ERROR_LEN)
SERVED(serve_host_error, SERVE_HOST_ERROR)
SERVED(serve_console_log, SERVE_CONSOLE_LOG)

typedef struct _served_t {
    const char *name;
    const char *signature;
    M3RawCall call;
} served_t;

// The signatures are waPC's (edgemodule/fit.py lists what a guest may import).
static const served_t exchange_served[] = {
    { "__guest_request", "v(ii)", serve_guest_request },
    { "__guest_response", "v(ii)", serve_guest_response },
    { "__guest_error", "v(ii)", serve_guest_error },
    { "__host_response_len", "i()", serve_host_response_len },
    { "__host_response", "v(i)", serve_host_response },
    { "__host_error_len", "i()", serve_host_error_len },
    { "__host_error", "v(i)", serve_host_error },
    { "__console_log", "v(ii)", serve_console_log },
};

static const served_t *exchange_find(const char *name, const char *signature) {
    for (size_t i = 0; i < MP_ARRAY_SIZE(exchange_served); i++) {
        const served_t *served = &exchange_served[i];
        if (strcmp(served->name, name) == 0) {
            if (strcmp(served->signature, signature) != 0) {
                mp_raise_msg_varg(&mp_type_TypeError,
                    MP_ERROR_TEXT("the exchange serves %s as %s, not %s"), name,
                    served->signature, signature);
            }
            return served;
        }
    }
    mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("the exchange does not serve %s"), name);
}

// Exchange(runtime, max_payload, max_log, on_log)
static mp_obj_t exchange_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 4, 4, false);
    if (!mp_obj_is_type(args[0], &runtime_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("Exchange() takes a wasm3 Runtime"));
    }
    mp_int_t max_payload = mp_obj_get_int(args[1]);
    mp_int_t max_log = mp_obj_get_int(args[2]);
    if (max_payload < 0 || max_log < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("max_payload and max_log must be 0 or more bytes"));
    }
    exchange_obj_t *self = mp_obj_malloc(exchange_obj_t, type);
    self->runtime = MP_OBJ_TO_PTR(args[0]);
    self->operation = self->payload = mp_const_empty_bytes;
    self->response = self->error = mp_const_none;
    self->host_response = self->host_error = mp_const_empty_bytes;
    self->on_log = args[3];
    self->status = mp_const_none;
    self->max_payload = (mp_uint_t)max_payload;
    self->max_log = (mp_uint_t)max_log;
    self->oversize = 0;
    return MP_OBJ_FROM_PTR(self);
}

// begin(operation, payload): the state of a new call (wapc.Exchange.begin)
static mp_obj_t exchange_begin(mp_obj_t self_in, mp_obj_t operation, mp_obj_t payload) {
    exchange_obj_t *self = MP_OBJ_TO_PTR(self_in);
    bytes_len(operation, MP_QSTR_operation);  // refused now rather than inside the guest
    bytes_len(payload, MP_QSTR_payload);
    self->operation = operation;
    self->payload = payload;
    self->response = self->error = mp_const_none;
    self->host_response = self->host_error = mp_const_empty_bytes;
    self->oversize = 0;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_3(exchange_begin_obj, exchange_begin);

// call(guest_call, operation, payload): one exchange (wapc.Exchange.call): begin(), then
// guest_call(len(operation), len(payload)); the answer, or None when the call failed.
static mp_obj_t exchange_call(size_t n_args, const mp_obj_t *args) {
    exchange_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    mp_obj_t lengths[2] = {
        mp_obj_new_int_from_uint(bytes_len(args[2], MP_QSTR_operation)),
        mp_obj_new_int_from_uint(bytes_len(args[3], MP_QSTR_payload)),
    };
    exchange_begin(args[0], args[2], args[3]);
    mp_obj_t status = mp_call_function_n_kw(args[1], 2, 0, lengths);
    self->status = status;
    if (status != MP_OBJ_NEW_SMALL_INT(1) || self->oversize) {
        return mp_const_none;
    }
    return self->response == mp_const_none ? mp_const_empty_bytes : self->response;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(exchange_call_obj, 4, 4, exchange_call);

static void exchange_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    exchange_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_obj_t *field;
    switch (attr) {
        case MP_QSTR_host_response:
            field = &self->host_response;
            break;
        case MP_QSTR_host_error:
            field = &self->host_error;
            break;
        default:
            field = NULL;
    }
    if (dest[0] == MP_OBJ_SENTINEL) {  // store or delete
        if (!field || dest[1] == MP_OBJ_NULL) {
            mp_raise_msg_varg(&mp_type_AttributeError,
                MP_ERROR_TEXT("Exchange.%q is read-only (host_response and host_error are not)"),
                attr);
        }
        bytes_len(dest[1], attr);
        *field = dest[1];
        dest[0] = MP_OBJ_NULL;
        return;
    }
    if (dest[0] != MP_OBJ_NULL) {
        return;
    }
    switch (attr) {
        case MP_QSTR_response:
            dest[0] = self->response;
            break;
        case MP_QSTR_error:
            dest[0] = self->error;
            break;
        case MP_QSTR_oversize:
            dest[0] = mp_obj_new_int_from_uint(self->oversize);
            break;
        case MP_QSTR_status:
            dest[0] = self->status;
            break;
        case MP_QSTR_max_payload:
            dest[0] = mp_obj_new_int_from_uint(self->max_payload);
            break;
        case MP_QSTR_max_log:
            dest[0] = mp_obj_new_int_from_uint(self->max_log);
            break;
        case MP_QSTR_begin:
            dest[0] = MP_OBJ_FROM_PTR(&exchange_begin_obj);
            dest[1] = self_in;
            break;
        case MP_QSTR_call:
            dest[0] = MP_OBJ_FROM_PTR(&exchange_call_obj);
            dest[1] = self_in;
            break;
        default:
            if (field) {
                dest[0] = *field;
            }
    }
}

static MP_DEFINE_CONST_OBJ_TYPE(
    exchange_type, MP_QSTR_Exchange, MP_TYPE_FLAG_NONE,
    make_new, exchange_make_new,
    attr, exchange_attr
    );

// ---- Environment

static mp_obj_t env_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 0, 0, false);
    env_obj_t *self = mp_obj_malloc(env_obj_t, type);
    self->env = m3_NewEnvironment();
    if (!self->env) {
        mp_raise_msg(&mp_type_MemoryError, MP_ERROR_TEXT("no memory for a wasm3 environment"));
    }
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t env_new_runtime(mp_obj_t self_in, mp_obj_t stack_in) {
    env_obj_t *env = MP_OBJ_TO_PTR(self_in);
    mp_int_t stack_bytes = mp_obj_get_int(stack_in);
    if (stack_bytes < 64) {
        mp_raise_ValueError(MP_ERROR_TEXT("stack must be at least 64 bytes"));
    }
    // the finaliser frees linear memory, which is not on the heap (see the allocation above)
    runtime_obj_t *self = mp_obj_malloc_with_finaliser(runtime_obj_t, &runtime_type);
    self->rt = NULL;
    self->env = self_in;
    self->modules = mp_obj_new_list(0, NULL);
    self->pending = MP_OBJ_NULL;
    self->view = MP_OBJ_NULL;
    self->memory_cap = 0;
    self->deadline_ms = 0;
    self->rt = m3_NewRuntime(env->env, (uint32_t)stack_bytes, self);
    if (!self->rt) {
        mp_raise_msg(&mp_type_MemoryError, MP_ERROR_TEXT("no memory for a wasm3 runtime"));
    }
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(env_new_runtime_obj, env_new_runtime);

static mp_obj_t env_parse_module(mp_obj_t self_in, mp_obj_t data_in) {
    env_obj_t *env = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(data_in, &buf, MP_BUFFER_READ);
    module_obj_t *self = mp_obj_malloc(module_obj_t, &module_type);
    self->env = self_in;
    self->data = data_in;
    self->links = mp_obj_new_list(0, NULL);
    self->runtime = NULL;
    self->mod = NULL;
    M3Result result = m3_ParseModule(env->env, &self->mod, buf.buf, (uint32_t)buf.len);
    if (result) {
        raise_result(NULL, result);
    }
    return MP_OBJ_FROM_PTR(self);
}
static MP_DEFINE_CONST_FUN_OBJ_2(env_parse_module_obj, env_parse_module);

static const mp_rom_map_elem_t env_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_new_runtime), MP_ROM_PTR(&env_new_runtime_obj) },
    { MP_ROM_QSTR(MP_QSTR_parse_module), MP_ROM_PTR(&env_parse_module_obj) },
};
static MP_DEFINE_CONST_DICT(env_locals, env_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    env_type, MP_QSTR_Environment, MP_TYPE_FLAG_NONE,
    make_new, env_make_new,
    locals_dict, &env_locals
    );

// ---- Runtime

static void apply_memory_cap(runtime_obj_t *self) {
    M3Memory *memory = &self->rt->memory;
    uint32_t cap = self->memory_cap;
    if (!cap || !memory->mallocated) {
        return;
    }
    if (memory->numPages > cap) {
        mp_raise_msg_varg(&mp_type_RuntimeError,
            MP_ERROR_TEXT("linear memory of %u pages is above the cap of %u pages"),
            (unsigned)memory->numPages, (unsigned)cap);
    }
    if (memory->maxPages > cap) {
        memory->maxPages = cap;  // memory.grow past it now answers -1
    }
}

static mp_obj_t runtime_load(mp_obj_t self_in, mp_obj_t module_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!mp_obj_is_type(module_in, &module_type)) {
        mp_raise_TypeError(MP_ERROR_TEXT("load() takes a wasm3 Module"));
    }
    module_obj_t *module = MP_OBJ_TO_PTR(module_in);
    if (module->runtime) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("module is already loaded"));
    }
    M3Result result = m3_LoadModule(self->rt, module->mod);
    if (result) {
        raise_result(self->rt, result);
    }
    module->runtime = self;
    mp_obj_list_append(self->modules, module_in);
    apply_memory_cap(self);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(runtime_load_obj, runtime_load);

static mp_obj_t runtime_find_function(mp_obj_t self_in, mp_obj_t name_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    const char *name = mp_obj_str_get_str(name_in);
    IM3Function fn = NULL;
    M3Result result;
    // Finding a function may run the module's start function: a guest entry like a call.
    guard_t guard;
    guard_enter(self, &guard);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        result = m3_FindFunction(&fn, self->rt, name);
        nlr_pop();
        guard_leave(self, &guard);
    } else {
        guard_leave(self, &guard);
        nlr_jump(nlr.ret_val);
    }
    if (result) {
        raise_entry_failure(self, result);
    }
    if (m3_GetArgCount(fn) > MAX_VALUES || m3_GetRetCount(fn) > MAX_VALUES) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("function has too many parameters"));
    }
    function_obj_t *function = mp_obj_malloc(function_obj_t, &function_type);
    function->runtime = self;
    function->fn = fn;
    return MP_OBJ_FROM_PTR(function);
}
static MP_DEFINE_CONST_FUN_OBJ_2(runtime_find_function_obj, runtime_find_function);

static mp_obj_t runtime_get_memory(mp_obj_t self_in, mp_obj_t index_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    uint32_t size = 0;
    uint8_t *mem = m3_GetMemory(self->rt, &size, (uint32_t)mp_obj_get_int(index_in));
    if (!mem) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("the module has no linear memory"));
    }
    // memory.grow may move the memory, so a view goes stale with it: the cached one is handed
    // out again only while it still spans the memory as it is. Reusing it spares the heap an
    // object per host function call.
    mp_obj_array_t *view = MP_OBJ_TO_PTR(self->view);
    if (self->view == MP_OBJ_NULL || view->items != mem || view->len != size) {
        self->view = mp_obj_new_memoryview('B' | MP_OBJ_ARRAY_TYPECODE_FLAG_RW, size, mem);
    }
    return self->view;
}
static MP_DEFINE_CONST_FUN_OBJ_2(runtime_get_memory_obj, runtime_get_memory);

static mp_obj_t runtime_set_memory_limit(mp_obj_t self_in, mp_obj_t pages_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_int_t pages = mp_obj_get_int(pages_in);
    if (pages < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("memory limit must be 0 or more pages"));
    }
    self->memory_cap = (uint32_t)pages;
    apply_memory_cap(self);
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(runtime_set_memory_limit_obj, runtime_set_memory_limit);

static mp_obj_t runtime_set_deadline(mp_obj_t self_in, mp_obj_t ms_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_int_t ms = mp_obj_get_int(ms_in);
    if (ms < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("deadline must be 0 (none) or more milliseconds"));
    }
    self->deadline_ms = (uint32_t)ms;
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_2(runtime_set_deadline_obj, runtime_set_deadline);

static mp_obj_t runtime_memory_pages(mp_obj_t self_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    return mp_obj_new_int_from_uint(self->rt->memory.numPages);
}
static MP_DEFINE_CONST_FUN_OBJ_1(runtime_memory_pages_obj, runtime_memory_pages);

// The runtime's finaliser: its linear memory, the one part of it off the heap. The rest of
// the runtime is the collector's, freed in the same sweep after every finaliser has run.
static mp_obj_t runtime_del(mp_obj_t self_in) {
    runtime_obj_t *self = MP_OBJ_TO_PTR(self_in);
    IM3Runtime rt = self->rt;
    if (rt && rt->memory.mallocated) {
        edgehost_m3_free(rt->memory.mallocated);
        rt->memory.mallocated = NULL;
        rt->memory.numPages = 0;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(runtime_del_obj, runtime_del);

static const mp_rom_map_elem_t runtime_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___del__), MP_ROM_PTR(&runtime_del_obj) },
    { MP_ROM_QSTR(MP_QSTR_load), MP_ROM_PTR(&runtime_load_obj) },
    { MP_ROM_QSTR(MP_QSTR_find_function), MP_ROM_PTR(&runtime_find_function_obj) },
    { MP_ROM_QSTR(MP_QSTR_get_memory), MP_ROM_PTR(&runtime_get_memory_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_memory_limit), MP_ROM_PTR(&runtime_set_memory_limit_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_deadline), MP_ROM_PTR(&runtime_set_deadline_obj) },
    { MP_ROM_QSTR(MP_QSTR_memory_pages), MP_ROM_PTR(&runtime_memory_pages_obj) },
};
static MP_DEFINE_CONST_DICT(runtime_locals, runtime_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    runtime_type, MP_QSTR_Runtime, MP_TYPE_FLAG_NONE,
    locals_dict, &runtime_locals
    );

// ---- Module

static mp_obj_t module_link_function(size_t n_args, const mp_obj_t *args) {
    module_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    const char *module_name = mp_obj_str_get_str(args[1]);
    const char *name = mp_obj_str_get_str(args[2]);
    const char *signature = mp_obj_str_get_str(args[3]);
    mp_obj_t fn = args[4];
    // An Exchange serves the waPC host functions it knows in C; any other callable is called
    // through the trampoline.
    const served_t *served = NULL;
    if (mp_obj_is_type(fn, &exchange_type)) {
        served = exchange_find(name, signature);
    } else if (!mp_obj_is_callable(fn)) {
        mp_raise_TypeError(MP_ERROR_TEXT("host function must be callable"));
    }
    if (!self->runtime) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("load the module before linking"));
    }
    M3Result result = m3_LinkRawFunctionEx(self->mod, module_name, name, signature,
        served ? served->call : host_trampoline, MP_OBJ_TO_PTR(fn));
    // As pywasm3: linking a function the module does not import is no error.
    if (result && result != m3Err_functionLookupFailed) {
        raise_result(self->runtime->rt, result);
    }
    if (!result) {
        mp_obj_list_append(self->links, fn);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(module_link_function_obj, 5, 5, module_link_function);

static void module_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    module_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_name) {
        const char *name = m3_GetModuleName(self->mod);
        dest[0] = mp_obj_new_str(name, strlen(name));
    } else if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_link_function) {
        dest[0] = MP_OBJ_FROM_PTR(&module_link_function_obj);
        dest[1] = self_in;
    }
}

static MP_DEFINE_CONST_OBJ_TYPE(
    module_type, MP_QSTR_Module, MP_TYPE_FLAG_NONE,
    attr, module_attr
    );

// ---- Function

static mp_obj_t function_call(mp_obj_t self_in, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    function_obj_t *self = MP_OBJ_TO_PTR(self_in);
    IM3Function fn = self->fn;
    IM3FuncType type = fn->funcType;
    uint32_t nrets = type->numRets;
    uint32_t nargs = type->numArgs;
    if (n_kw) {
        mp_raise_TypeError(MP_ERROR_TEXT("wasm functions take no keyword arguments"));
    }
    if (n_args != nargs) {
        mp_raise_msg_varg(&mp_type_TypeError,
            MP_ERROR_TEXT("%s takes %d arguments, not %d"), m3_GetFunctionName(fn),
            (int)nargs, (int)n_args);
    }
    uint64_t slots[MAX_VALUES];
    const void *ptrs[MAX_VALUES];
    for (uint32_t i = 0; i < nargs; i++) {
        to_slot(args[i], type->types[nrets + i], &slots[i]);
        ptrs[i] = &slots[i];
    }
    runtime_obj_t *runtime = self->runtime;
    M3Result result;
    guard_t guard;
    guard_enter(runtime, &guard);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        result = m3_Call(fn, nargs, ptrs);
        nlr_pop();
        guard_leave(runtime, &guard);
    } else {
        guard_leave(runtime, &guard);
        nlr_jump(nlr.ret_val);
    }
    if (result) {
        raise_entry_failure(runtime, result);
    }
    if (nrets == 0) {
        return mp_const_none;
    }
    for (uint32_t i = 0; i < nrets; i++) {
        ptrs[i] = &slots[i];
    }
    result = m3_GetResults(fn, nrets, ptrs);
    if (result) {
        raise_result(runtime->rt, result);
    }
    if (nrets == 1) {
        return from_slot(&slots[0], type->types[0]);
    }
    mp_obj_t values[MAX_VALUES];
    for (uint32_t i = 0; i < nrets; i++) {
        values[i] = from_slot(&slots[i], type->types[i]);
    }
    return mp_obj_new_tuple(nrets, values);
}

static void function_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest) {
    function_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (dest[0] == MP_OBJ_NULL && attr == MP_QSTR_name) {
        const char *name = m3_GetFunctionName(self->fn);
        dest[0] = mp_obj_new_str(name, strlen(name));
    }
}

static MP_DEFINE_CONST_OBJ_TYPE(
    function_type, MP_QSTR_Function, MP_TYPE_FLAG_NONE,
    call, function_call,
    attr, function_attr
    );

// ---- a stored module without a copy in RAM (unix: mmap of a file; ESP32: esp_partition_mmap
// of the module partition)

#if defined(__unix__) || defined(ESP_PLATFORM)
// A bytes object whose data is `length` bytes at `base`: read in place, never freed (a bytes
// object has no finaliser; the mapping outlives it).
static mp_obj_t mapped_bytes(const void *base, size_t length) {
    if (length == 0) {
        return mp_const_empty_bytes;
    }
    mp_obj_str_t *bytes = mp_obj_malloc(mp_obj_str_t, &mp_type_bytes);
    bytes->hash = 0;  // computed when asked for
    bytes->len = length;
    bytes->data = base;
    return MP_OBJ_FROM_PTR(bytes);
}

static void check_span(mp_int_t offset, mp_int_t length, size_t size) {
    if (offset < 0 || length < 0 || (size_t)offset > size || (size_t)length > size - (size_t)offset) {
        mp_raise_ValueError(MP_ERROR_TEXT("span is outside the mapped region"));
    }
}
#endif

#if defined(__unix__)
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// The last file mapped whole: the module region is mapped once and its modules are spans of
// it, so installs and swaps do not pile up mappings.
static char *mapped_path = NULL;
static const uint8_t *mapped_base = NULL;
static size_t mapped_size = 0;

// map_file(path[, offset, length]): the file (or `length` bytes of it from `offset`) as a
// bytes object read in place. The mapping is shared and lasts as long as the process: bytes
// written to the file later show through it, so a span must not be rewritten while code
// loaded from it may run (the region writes only free space, see edgehost.region).
static mp_obj_t wasm3_map_file(size_t n_args, const mp_obj_t *args) {
    const char *path = mp_obj_str_get_str(args[0]);
    // a whole file is mapped afresh each time (a file renamed over it is another file); a
    // span comes from the one region mapped whole
    bool whole = n_args == 1;
    if (whole || mapped_path == NULL || strcmp(path, mapped_path) != 0) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) {
            mp_raise_OSError(errno);
        }
        struct stat st;
        void *data = MAP_FAILED;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
            data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        }
        int error = errno;
        close(fd);
        if (st.st_size == 0) {
            if (!whole) {
                check_span(mp_obj_get_int(args[1]), mp_obj_get_int(args[2]), 0);
            }
            return mp_const_empty_bytes;
        }
        if (data == MAP_FAILED) {
            mp_raise_OSError(error);
        }
        if (whole) {
            return mapped_bytes(data, (size_t)st.st_size);
        }
        // the previous mapping stays: modules loaded from it may still run
        free(mapped_path);
        mapped_path = strdup(path);
        mapped_base = data;
        mapped_size = (size_t)st.st_size;
    }
    mp_int_t offset = mp_obj_get_int(args[1]);
    mp_int_t length = mp_obj_get_int(args[2]);
    check_span(offset, length, mapped_size);
    return mapped_bytes(mapped_base + offset, (size_t)length);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(wasm3_map_file_obj, 1, 3, wasm3_map_file);
#endif

#if defined(ESP_PLATFORM)
#include "esp_partition.h"
#include "py/mperrno.h"

static const uint8_t *partition_base = NULL;
static size_t partition_size = 0;
static esp_partition_mmap_handle_t partition_handle;

// map_partition(label, offset, length[, size]): `length` bytes from `offset` of the data
// partition `label`, as a bytes object read in place from flash. The first `size` bytes of
// the partition (all of it without `size`, or where it is smaller) are mapped at the first
// call and never unmapped (each mapping takes MMU pages; one for the board's life keeps their
// number fixed); writes through esp32.Partition flush the cache over it. `size` keeps a
// partition larger than the board's module region from taking more of the chip's mappable
// flash than the profile allows.
static mp_obj_t wasm3_map_partition(size_t n_args, const mp_obj_t *args) {
    if (partition_base == NULL) {
        const char *label = mp_obj_str_get_str(args[0]);
        const esp_partition_t *part = esp_partition_find_first(ESP_PARTITION_TYPE_DATA,
            ESP_PARTITION_SUBTYPE_ANY, label);
        if (part == NULL) {
            mp_raise_OSError(MP_ENOENT);
        }
        size_t size = part->size;
        if (n_args > 3) {
            mp_int_t wanted = mp_obj_get_int(args[3]);
            if (wanted < 0) {
                mp_raise_ValueError(MP_ERROR_TEXT("size must not be negative"));
            }
            if ((size_t)wanted < size) {
                size = (size_t)wanted;
            }
        }
        const void *base;
        esp_err_t err = esp_partition_mmap(part, 0, size, ESP_PARTITION_MMAP_DATA, &base,
            &partition_handle);
        if (err != ESP_OK) {
            mp_raise_msg_varg(&mp_type_OSError,
                MP_ERROR_TEXT("cannot map partition %s (%d bytes): esp_partition_mmap error %d"),
                label, (int)size, (int)err);
        }
        partition_base = base;
        partition_size = size;
    }
    mp_int_t offset = mp_obj_get_int(args[1]);
    mp_int_t length = mp_obj_get_int(args[2]);
    check_span(offset, length, partition_size);
    return mapped_bytes(partition_base + offset, (size_t)length);
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(wasm3_map_partition_obj, 3, 4, wasm3_map_partition);
#endif

// ---- the budget for linear memory

// set_linear_memory_limit(n): actors' linear memory together may take `n` bytes (0: no limit
// but the allocator's); past it, making or growing one fails as wasm3 fails when memory runs
// out ("memory allocation failed", memory.grow answering -1). The board sets it from its
// profile, so that the simulator holds actors to the PSRAM the profile gives them.
static mp_obj_t wasm3_set_linear_memory_limit(mp_obj_t limit_in) {
    mp_int_t limit = mp_obj_get_int(limit_in);
    if (limit < 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("linear memory limit must be 0 (none) or more bytes"));
    }
    #if LINEAR_OUTSIDE_HEAP
    linear_limit = (size_t)limit;
    #endif
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(wasm3_set_linear_memory_limit_obj,
    wasm3_set_linear_memory_limit);

// linear_memory_used(): bytes actors' linear memory takes off the heap (0 where it is on it).
static mp_obj_t wasm3_linear_memory_used(void) {
    #if LINEAR_OUTSIDE_HEAP
    return mp_obj_new_int_from_uint(linear_used);
    #else
    return MP_OBJ_NEW_SMALL_INT(0);
    #endif
}
static MP_DEFINE_CONST_FUN_OBJ_0(wasm3_linear_memory_used_obj, wasm3_linear_memory_used);

// ---- the module

static const MP_DEFINE_STR_OBJ(version_obj, M3_VERSION);

static const mp_rom_map_elem_t wasm3_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_wasm3) },
    { MP_ROM_QSTR(MP_QSTR_Environment), MP_ROM_PTR(&env_type) },
    { MP_ROM_QSTR(MP_QSTR_Runtime), MP_ROM_PTR(&runtime_type) },
    { MP_ROM_QSTR(MP_QSTR_Module), MP_ROM_PTR(&module_type) },
    { MP_ROM_QSTR(MP_QSTR_Function), MP_ROM_PTR(&function_type) },
    { MP_ROM_QSTR(MP_QSTR_Exchange), MP_ROM_PTR(&exchange_type) },
    { MP_ROM_QSTR(MP_QSTR_M3_VERSION), MP_ROM_PTR(&version_obj) },
    { MP_ROM_QSTR(MP_QSTR_set_linear_memory_limit),
      MP_ROM_PTR(&wasm3_set_linear_memory_limit_obj) },
    { MP_ROM_QSTR(MP_QSTR_linear_memory_used), MP_ROM_PTR(&wasm3_linear_memory_used_obj) },
    #if defined(__unix__)
    { MP_ROM_QSTR(MP_QSTR_map_file), MP_ROM_PTR(&wasm3_map_file_obj) },
    #endif
    #if defined(ESP_PLATFORM)
    { MP_ROM_QSTR(MP_QSTR_map_partition), MP_ROM_PTR(&wasm3_map_partition_obj) },
    #endif
};
static MP_DEFINE_CONST_DICT(wasm3_globals, wasm3_globals_table);

const mp_obj_module_t wasm3_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&wasm3_globals,
};

MP_REGISTER_MODULE(MP_QSTR_wasm3, wasm3_user_cmodule);
