// wasm3 m3_bind.c, built with the board's settings.
#include "m3_source.h"
#include "m3_bind.c"
