/* rust_code_small: a Rust-shaped actor (see rustshape.h) whose module is mostly code: 2 blocks
 * of 256 functions (see rustcode.h), a module of about 130 KB: the small end of real wasmCloud
 * actors.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=1114112
 */
#include "rustshape.h"

#define CODE_BLOCKS(X) X(00) X(01)
#include "rustcode.h"
