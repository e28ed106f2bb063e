// wasm3 m3_env.c, built with the board's settings.
#include "m3_source.h"
#include "m3_env.c"
