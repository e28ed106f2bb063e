// wasm3 m3_env.c, built with the board's settings, its actors' linear memory allocated apart
// from the rest (modwasm3.c says where and why).
#include "m3_source.h"
#include "m3_env.h"

void *edgehost_m3_linear_realloc(void *ptr, size_t new_size, size_t old_size);

// In the pinned m3_env.c, m3_Realloc has one caller, ResizeMemory, which makes and grows
// linear memory; everything else there allocates with m3_Malloc and m3_AllocArray. Replacing
// the macro for this file only picks out exactly that call, which a size threshold could not
// (small memories, large tables), and copies nothing of wasm3.
#undef m3_Realloc
#define m3_Realloc(NAME, PTR, NEW, OLD) edgehost_m3_linear_realloc((PTR), (NEW), (OLD))
#include "m3_env.c"
