/* rustcode.h - the bulk of a real wasmCloud Rust actor is code: thousands of functions (serde,
 * the RPC glue, the standard library), wasm3 keeping a record of each. An actor source defines
 * CODE_BLOCKS(X) as X(00) X(01) ... (each block 256 distinct functions, named by two hex
 * digits) and includes this after rustshape.h. Code.Run takes msgpack
 * {"fn": uint, "x": uint} and answers {"y": uint}: function fn % count applied to x, so that
 * no function is dead code and a call compiles only the one it reaches, as wasm3 does.
 */
#ifndef EDGEHOST_RUSTCODE_H
#define EDGEHOST_RUSTCODE_H

/* one step of a function: distinct constants per function and step, so no two bodies fold */
#define CODE_STEP(n, k) x = (x ^ (x >> (((n) + (k)) % 13 + 3))) * (2654435761u + (n) * 40503u + (k) * 97u);
#define CODE_FN(p)                                                                       \
    __attribute__((noinline)) static uint32_t code_##p(uint32_t x) {                    \
        CODE_STEP(0x##p, 1) CODE_STEP(0x##p, 2) CODE_STEP(0x##p, 3) CODE_STEP(0x##p, 4)  \
        CODE_STEP(0x##p, 5) CODE_STEP(0x##p, 6) CODE_STEP(0x##p, 7) CODE_STEP(0x##p, 8)  \
        CODE_STEP(0x##p, 9) CODE_STEP(0x##p, 10) CODE_STEP(0x##p, 11) CODE_STEP(0x##p, 12) \
        CODE_STEP(0x##p, 13) CODE_STEP(0x##p, 14) CODE_STEP(0x##p, 15) CODE_STEP(0x##p, 16) \
        return x;                                                                        \
    }
#define CODE_16(p) CODE_FN(p##0) CODE_FN(p##1) CODE_FN(p##2) CODE_FN(p##3) CODE_FN(p##4) \
    CODE_FN(p##5) CODE_FN(p##6) CODE_FN(p##7) CODE_FN(p##8) CODE_FN(p##9) CODE_FN(p##a)   \
    CODE_FN(p##b) CODE_FN(p##c) CODE_FN(p##d) CODE_FN(p##e) CODE_FN(p##f)
#define CODE_BLOCK(p) CODE_16(p##0) CODE_16(p##1) CODE_16(p##2) CODE_16(p##3) CODE_16(p##4) \
    CODE_16(p##5) CODE_16(p##6) CODE_16(p##7) CODE_16(p##8) CODE_16(p##9) CODE_16(p##a)     \
    CODE_16(p##b) CODE_16(p##c) CODE_16(p##d) CODE_16(p##e) CODE_16(p##f)

#define CODE_REF_16(p) code_##p##0, code_##p##1, code_##p##2, code_##p##3, code_##p##4,      \
    code_##p##5, code_##p##6, code_##p##7, code_##p##8, code_##p##9, code_##p##a, code_##p##b, \
    code_##p##c, code_##p##d, code_##p##e, code_##p##f,
#define CODE_REFS(p) CODE_REF_16(p##0) CODE_REF_16(p##1) CODE_REF_16(p##2) CODE_REF_16(p##3) \
    CODE_REF_16(p##4) CODE_REF_16(p##5) CODE_REF_16(p##6) CODE_REF_16(p##7) CODE_REF_16(p##8) \
    CODE_REF_16(p##9) CODE_REF_16(p##a) CODE_REF_16(p##b) CODE_REF_16(p##c) CODE_REF_16(p##d) \
    CODE_REF_16(p##e) CODE_REF_16(p##f)

CODE_BLOCKS(CODE_BLOCK)
static uint32_t (*const code_table[])(uint32_t) = {CODE_BLOCKS(CODE_REFS)};
#define CODE_COUNT (sizeof code_table / sizeof code_table[0])

static int code_run(const uint8_t *msg, uint32_t len) {
    struct mp_reader r;
    struct mp_writer w;
    uint32_t fn, x;
    if (!mp_find(msg, len, "fn", &r) || !mp_uint(&r, &fn) ||
        !mp_find(msg, len, "x", &r) || !mp_uint(&r, &x))
        return wapc_fail("Code.Run: payload must be a msgpack map with uints \"fn\" and \"x\"");
    w.p = (uint8_t *)wapc_alloc(16);
    w.at = 0;
    if (!w.p) return wapc_fail("out of memory for the answer");
    mp_put_map(&w, 1);
    mp_put_cstr(&w, "y");
    mp_put_uint(&w, code_table[fn % CODE_COUNT](x));
    return wapc_respond(w.p, w.at);
}

static const struct wapc_operation operations[] = {
    {"Code.Run", code_run},
    {"Actor.HealthRequest", wapc_healthy},
    {0, 0},
};

WAPC_EXPORT_GUEST_CALL(operations)

#endif
