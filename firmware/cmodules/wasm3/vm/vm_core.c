// wasm3 m3_core.c with its allocator routed to MicroPython's heap (modwasm3.c), so that the
// engine's memory, actors' linear memory included, is accounted and bounded by the heap.
#include "m3_source.h"
#include <stdlib.h>

void *edgehost_m3_calloc(size_t num, size_t size);
void *edgehost_m3_realloc(void *ptr, size_t size);
void edgehost_m3_free(void *ptr);

#define calloc edgehost_m3_calloc
#define realloc edgehost_m3_realloc
#define free edgehost_m3_free
#include "m3_core.c"
