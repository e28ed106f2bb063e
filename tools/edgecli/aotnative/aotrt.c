/* The runtime of a translated actor: what wasm2c's output needs (linear memory, tables, traps,
 * the call-depth and stack checks), inside a MicroPython native module.
 *
 * The translator's glue file includes this file, then wasm2c's output, then its own import
 * and export functions. Memory comes from MicroPython's heap; a trap raises
 * RuntimeError("[trap] ...") as the board's wasm3 module does, so engine.trap_cause reads it.
 */
#include "py/dynruntime.h"

/* a native module links no libc: wasm2c's output calls these by name */
void *memcpy(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n) {
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d < s) {
        while (n--) {
            *d++ = *s++;
        }
    } else {
        while (n--) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int value, size_t n) {
    unsigned char *d = dst;
    while (n--) {
        *d++ = (unsigned char)value;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++) {
        if (*x != *y) {
            return *x - *y;
        }
    }
    return 0;
}

/* The stack check, at every function entry. A call traps with "stack overflow" once the
 * native stack has grown past the floor its entry set (its own frame less the instance's
 * stack budget), or when MicroPython's own check (the running thread's stack top and limit,
 * which a native module cannot read) says that AOT_STACK_RESERVE bytes more would pass its
 * limit: that much is kept for the host functions the guest calls, as the board's wasm3
 * module keeps. MicroPython is asked each time the stack has grown AOT_STACK_STEP bytes past
 * the deepest point it approved in this call, so a guest that does not grow pays one compare.
 * A board's margin beyond MicroPython's limit is small (1 KB on the ESP32): the step is kept
 * below it. */
#if defined(__x86_64__) || defined(__i386__)
#define AOT_STACK_RESERVE (4 * 1024)
#define AOT_STACK_STEP (1024)
#else
#define AOT_STACK_RESERVE (2 * 1024)
#define AOT_STACK_STEP (256)
#endif
char *aot_stack_floor;     /* the instance's budget */
char *aot_stack_approved;  /* the deepest point MicroPython's check approved, less a step */
mp_obj_t aot_stack_probe;  /* an iterator: mp_iternext runs MicroPython's stack check */

/* MicroPython's own stack check, made AOT_STACK_RESERVE bytes below this frame; false if it
 * raised */
static __attribute__((noinline)) bool aot_within_micropython_limit(void) {
    /* the firmware's nlr_buf_t may be longer than this build's (a Python stack adds a field) */
    struct {
        nlr_buf_t nlr;
        void *firmware_fields[4];
    } nlr;
    if (mp_fun_table.nlr_push(&nlr.nlr) != 0) {
        return false;
    }
    char *reserve = __builtin_alloca(AOT_STACK_RESERVE);
    __asm__ volatile ("" : : "r" (reserve) : "memory");  /* kept, though never written */
    mp_obj_iter_buf_t probe;
    probe.base.type = MP_OBJ_NULL;
    probe.buf[0] = aot_stack_probe;
    mp_fun_table.iternext(&probe);
    mp_fun_table.nlr_pop();
    return true;
}

static __attribute__((noinline)) uint32_t aot_stack_deeper(char *here) {
    if (here < aot_stack_floor || !aot_within_micropython_limit()) {
        return 0;
    }
    aot_stack_approved = here - AOT_STACK_STEP;
    if (aot_stack_approved < aot_stack_floor) {
        aot_stack_approved = aot_stack_floor;
    }
    return 0xffffffffu;
}

static inline uint32_t aot_depth_limit(void) {
    char here;
    return &here >= aot_stack_approved ? 0xffffffffu : aot_stack_deeper(&here);
}
#define WASM_RT_MAX_CALL_STACK_DEPTH (aot_depth_limit())

/* one thread runs the guest: a native module holds no thread-local data, and its globals
 * cannot be static (mpy_ld relocates only named ones) */
#define __thread
#include "wasm-rt.h"

uint32_t wasm_rt_call_stack_depth;
/* the memory cap in pages, set by the instance before it instantiates the module */
uint64_t aot_max_pages;

/* indexed by wasm_rt_trap_t; the texts are those of the board's wasm3 module */
static const char *const aot_trap_texts[] = {
    "[trap] trap", "[trap] out of bounds memory access", "[trap] integer overflow",
    "[trap] integer divide by zero", "[trap] invalid conversion to integer",
    "[trap] unreachable executed", "[trap] indirect call type mismatch",
    "[trap] null reference", "[trap] uncaught exception", "[trap] unaligned access",
    "[trap] stack overflow",
};

void wasm_rt_trap(wasm_rt_trap_t code) {
    const char *text = aot_trap_texts[0];
    if (code == WASM_RT_TRAP_EXHAUSTION) {
        text = "[trap] stack overflow";
    } else if ((size_t)code < sizeof(aot_trap_texts) / sizeof(aot_trap_texts[0])) {
        text = aot_trap_texts[code];
    }
    mp_raise_msg(&mp_type_RuntimeError, text);
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *memory, uint64_t initial_pages,
                             uint64_t max_pages, bool is64, uint32_t page_size) {
    if (aot_max_pages && max_pages > aot_max_pages) {
        max_pages = aot_max_pages;
    }
    if (initial_pages > max_pages) {
        mp_raise_ValueError(MP_ERROR_TEXT("module needs more memory than the cap"));
    }
    memory->size = initial_pages * page_size;
    memory->data = m_malloc(memory->size ? memory->size : 1);
    memset(memory->data, 0, memory->size);
    memory->pages = initial_pages;
    memory->max_pages = max_pages;
    memory->is64 = is64;
    memory->page_size = page_size;
}

uint64_t wasm_rt_grow_memory(wasm_rt_memory_t *memory, uint64_t delta) {
    uint64_t old = memory->pages;
    uint64_t pages = old + delta;
    if (pages < old || pages > memory->max_pages) {
        return (uint64_t)-1;
    }
    if (delta == 0) {
        return old;
    }
    uint64_t size = pages * memory->page_size;
    uint8_t *data = m_realloc(memory->data, size);
    memset(data + memory->size, 0, size - memory->size);
    memory->data = data;
    memory->size = size;
    memory->pages = pages;
    return old;
}

void wasm_rt_free_memory(wasm_rt_memory_t *memory) {
    m_free(memory->data);
    memory->data = NULL;
    memory->size = 0;  /* an exchange that outlives its instance sees no memory */
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements,
                                    uint32_t max_elements) {
    table->size = elements;
    table->max_size = max_elements;
    table->data = m_malloc(elements * sizeof(wasm_rt_funcref_t) + 1);
    memset(table->data, 0, elements * sizeof(wasm_rt_funcref_t));
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table) {
    m_free(table->data);
    table->data = NULL;
}

bool wasm_rt_is_initialized(void) {
    return true;
}
