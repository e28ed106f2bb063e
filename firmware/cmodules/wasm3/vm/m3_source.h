// Included first by each vm/*.c file: wasm3 compiles inside MicroPython's build, whose
// warnings are errors; wasm3's float conversions and promotions are deliberate.
#pragma GCC diagnostic ignored "-Wfloat-conversion"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../m3_board_config.h"
