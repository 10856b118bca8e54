#ifndef KLIPSIM_STEPCOMPRESS_RUN_H
#define KLIPSIM_STEPCOMPRESS_RUN_H
/* The compressor's run search (not part of the Python interface).  See
 * stepcompress_run.c. */
#include <stdint.h>
#include "stepcompress_internal.h"

// One queue_step: count steps, the first interval ticks after the last
// step, each next interval add ticks longer.
struct sc_run {
    int64_t interval, count, add;
};

// Changes nothing (it writes a sentinel past the steps it walks and
// restores it).
struct sc_run sc_find_run(struct stepcompress *sc);
int sc_verify_run(struct stepcompress *sc, const struct sc_run *r);
// Ticks from the clock before the first step to the last step (inline:
// the run search asks it for every trial).
static inline int64_t
sc_run_reach(const struct sc_run *r)
{
    return r->add * (r->count * (r->count - 1) / 2) + r->interval * r->count;
}

#endif
