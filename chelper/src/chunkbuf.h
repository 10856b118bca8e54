#ifndef KLIPSIM_CHUNKBUF_H
#define KLIPSIM_CHUNKBUF_H
/* A byte buffer holding chunks back to back, each known by its end
 * offset: chunk i is data[ends[i - 1], ends[i]) (ends[-1] = 0).  The
 * serial queue's receive buffer (linkio.c) and the tty kworker's queues
 * (vs_prog.c) keep their chunks in one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "xalloc.h"

struct chunkbuf {
    uint8_t *data;
    int64_t len, cap;
    int64_t *ends;
    int64_t n, ncap;
};

/* Append a chunk of n bytes; returns its index. */
static inline int64_t
chunkbuf_add(struct chunkbuf *b, const uint8_t *data, int64_t n)
{
    if (b->len + n > b->cap) {
        b->cap = b->cap ? 2 * b->cap : 1024;
        while (b->cap < b->len + n)
            b->cap *= 2;
        b->data = xrealloc(b->data, b->cap);
    }
    if (b->n == b->ncap) {
        b->ncap = b->ncap ? 2 * b->ncap : 64;
        b->ends = xrealloc(b->ends, b->ncap * sizeof(int64_t));
    }
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->ends[b->n] = b->len;
    return b->n++;
}

static inline int64_t
chunkbuf_start(const struct chunkbuf *b, int64_t i)
{
    return i ? b->ends[i - 1] : 0;
}

static inline void
chunkbuf_clear(struct chunkbuf *b)
{
    b->len = b->n = 0;
}

static inline void
chunkbuf_free(struct chunkbuf *b)
{
    free(b->data);
    free(b->ends);
}
#endif
