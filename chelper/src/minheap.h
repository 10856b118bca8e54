#ifndef KLIPSIM_MINHEAP_H
#define KLIPSIM_MINHEAP_H
/* A binary min-heap of int64 clocks in an array (the layout of Python's
 * heapq).  Shared by the serial link's move slots (chelper/src/linkq.c)
 * and execute's delivery planner (firmware/simulator/stream_plan.c),
 * which model the same thing: the MCU's move queue, where a new move
 * takes the slot that frees first. */
#include <stdint.h>

// heapq.heapreplace: drop the minimum of h[0..n), insert v; returns the
// dropped minimum.
static inline int64_t
minheap_replace(int64_t *h, int64_t n, int64_t v)
{
    int64_t first = h[0], i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1] < h[c])
            c++;
        if (h[c] >= v)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = v;
    return first;
}

#endif
