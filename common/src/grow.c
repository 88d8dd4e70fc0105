/*  grow: room for one more item at the end of a growable array (grow.h). */
#include "eqms/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_room(void *items, size_t count, size_t *cap, size_t size, size_t first)
{
    if (count < *cap)
        return items;
    if (*cap > SIZE_MAX / 2)
        return NULL;
    size_t next = *cap ? *cap * 2 : first;
    if (size == 0 || next == 0 || next > SIZE_MAX / size)
        return NULL;
    void *grown = realloc(items, next * size);
    if (grown)
        *cap = next;
    return grown;
}
