// wasm3's build settings for the board, shared by every wasm3 source and by the binding:
// the runtime's struct layout depends on them, so all translation units must agree.
#ifndef EDGEHOST_M3_BOARD_CONFIG_H
#define EDGEHOST_M3_BOARD_CONFIG_H

// The binding presets the native-stack floor from MicroPython's own stack limit before every
// entry into the guest; this value only switches wasm3's check on (it is used when no floor
// was preset).
#ifndef d_m3MaxNativeStack
#define d_m3MaxNativeStack (32 * 1024)
#endif

// Compiled code in 1 KiB pages, as wasm3 has it on embedded targets (its default elsewhere is
// 32 KiB): a small actor then takes a few KiB of code pages, not 32.
#ifndef d_m3CodePageAlignSize
#define d_m3CodePageAlignSize 1024
#endif

// Error texts name what failed ("function lookup failed ('x')"), as pywasm3's do.
#ifndef d_m3VerboseErrorMessages
#define d_m3VerboseErrorMessages 1
#endif

// m3StackCheck() is wasm3's probe on every loop iteration and function return; the sources
// that hold the interpreter's ops define d_m3LogNativeStack 1 so that the probe calls the
// binding's deadline check (modwasm3.c). Everywhere else it stays the empty macro.
#ifndef d_m3LogNativeStack
#define d_m3LogNativeStack 0
#endif

#endif
