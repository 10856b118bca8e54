#ifndef XALLOC_H
#define XALLOC_H
/* Allocation that cannot return NULL: out of memory ends the process
 * (abort), as the other chelper files do inline, instead of a later
 * NULL dereference deep inside the scheduler. */
#include <stdlib.h>

static inline void *
xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        abort();
    return p;
}

static inline void *
xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        abort();
    return p;
}

static inline void *
xrealloc(void *old, size_t size)
{
    void *p = realloc(old, size ? size : 1);
    if (!p)
        abort();
    return p;
}

#endif
