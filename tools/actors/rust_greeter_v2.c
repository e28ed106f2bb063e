/* rust_greeter_v2: rust_greeter with another greeting, to hot-swap one for the other.
 * build-flags: -Wl,-z,stack-size=1048576 -Wl,--initial-memory=1114112
 */
#define GREETING "Howdy, "
#include "rust_greeter.c"
