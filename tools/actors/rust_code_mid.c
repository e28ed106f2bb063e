/* rust_code_mid: a Rust-shaped actor (see rustshape.h) whose module is mostly code: 8 blocks
 * of 256 functions (see rustcode.h), a module of about 520 KB.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=1114112
 */
#include "rustshape.h"

#define CODE_BLOCKS(X) X(00) X(01) X(02) X(03) X(04) X(05) X(06) X(07)
#include "rustcode.h"
