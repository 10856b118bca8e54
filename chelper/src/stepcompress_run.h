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

struct sc_run sc_find_run(const struct stepcompress *sc);
int sc_verify_run(struct stepcompress *sc, const struct sc_run *r);
// Ticks from the clock before the first step to the last step.
int64_t sc_run_reach(const struct sc_run *r);

#endif
