#ifndef KLIPSIM_STEPCOMPRESS_INTERNAL_H
#define KLIPSIM_STEPCOMPRESS_INTERNAL_H
/* Compressor state, shared with the run search (stepcompress_run.c) and
 * the step solver's cursor (stepcompress_cursor.h); not part of the
 * Python interface.  See stepcompress.c. */
#include <stddef.h>
#include <stdint.h>
#include "stepcompress.h"

// Runs are limited by the queue_step count field (%hu).
#define MAX_RUN_COUNT 65535
// A step this far (ticks) after the last one is sent as its own message
// with req_clock at the step, keeping 32-bit MCU clocks unambiguous.
#define CLOCK_DIFF_MAX (3u << 28)

struct emitted_run;

// What appending steps changes in the common case, kept apart so the
// step solver's cursor (stepcompress_cursor.h) takes and gives it back
// whole: the held-back step of the step+dir+step filter, the direction
// the solver should assume next and the net step count.
struct sc_held {
    int has_pending, pending_dir;
    uint64_t pending_clock;
    int solver_dir;             // direction the solver should assume next
    int64_t position;           // net steps appended and not cancelled
};

struct stepcompress {
    uint32_t oid, max_error;
    int invert_dir;
    double mcu_freq, time_offset, last_step_print_time;
    double filter_ticks;        // step+dir+step window in ticks
    uint64_t last_step_clock;
    // queued (not yet compressed) step clocks, all in direction queue_dir,
    // and each one's earliest acceptable clock given the queued step
    // before it (unused for a step queued into an empty queue: the run
    // search bounds the first step from last_step_clock)
    uint64_t *queue, *early;
    size_t qhead, qtail, qcap;
    int queue_dir;              // -1: none sent since start/reset
    struct sc_held held;
    // steps are known (generated) up to this print time; a held-back step
    // closer to it than the filter window may still be cancelled
    double generated_until;
    struct sc_message *msgs;
    size_t nmsgs, msgcap;
    struct emitted_run *history;    // ring (see record_run)
    size_t hist_head, hist_tail, hist_cap;
    int64_t emitted_position;   // net steps of emitted queue_step runs
    char errmsg[200];
};

// Earliest acceptable clock of a step at `clock` queued after one at
// `prev`: early by at most max_error and by at most half the gap.
static inline uint64_t
early_clock(uint64_t max_error, uint64_t prev, uint64_t clock)
{
    uint64_t slack = (clock - prev) / 2;
    return clock - (slack > max_error ? max_error : slack);
}

static inline uint64_t
stepcompress_early(const struct stepcompress *sc, uint64_t prev,
                   uint64_t clock)
{
    return early_clock(sc->max_error, prev, clock);
}

#endif
