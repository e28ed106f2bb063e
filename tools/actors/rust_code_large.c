/* rust_code_large: a Rust-shaped actor (see rustshape.h) whose module is mostly code: 28
 * blocks of 256 functions (see rustcode.h), a module of about 1.8 MB, the size of wasmCloud's
 * echo and kvcounter.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=1114112
 */
#include "rustshape.h"

#define CODE_BLOCKS(X) X(00) X(01) X(02) X(03) X(04) X(05) X(06) X(07) X(08) X(09) X(0a) X(0b) \
    X(0c) X(0d) X(0e) X(0f) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) \
    X(18) X(19) X(1a) X(1b)
#include "rustcode.h"
