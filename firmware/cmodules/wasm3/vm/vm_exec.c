// wasm3 m3_exec.c: empty in the pinned wasm3 (the ops are instantiated in m3_compile.c, see
// vm_compile.c); d_m3LogNativeStack is set here too in case a later wasm3 moves them back.
#define d_m3LogNativeStack 1
#include "m3_source.h"
#include "m3_exec.c"
