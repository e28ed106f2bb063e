// wasm3 m3_compile.c: it instantiates the interpreter's ops, so its m3StackCheck() probe
// calls the deadline check in modwasm3.c.
#define d_m3LogNativeStack 1
#include "m3_source.h"
#include "m3_compile.c"
