#ifndef KLIPSIM_STEPCOMPRESS_INTERNAL_H
#define KLIPSIM_STEPCOMPRESS_INTERNAL_H
/* Compressor state, shared with the step solver for its inlined fast
 * path (not part of the Python interface).  See stepcompress.c. */
#include <stddef.h>
#include <stdint.h>
#include "stepcompress.h"

// Runs are limited by the queue_step count field (%hu).
#define MAX_RUN_COUNT 65535
// A step this far (ticks) after the last one is sent as its own message
// with req_clock at the step, keeping 32-bit MCU clocks unambiguous.
#define CLOCK_DIFF_MAX (3u << 28)

struct emitted_run;

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
    // held-back step for the step+dir+step filter
    int has_pending, pending_dir;
    uint64_t pending_clock;
    int solver_dir;             // direction the solver should assume next
    // steps are known (generated) up to this print time; a held-back step
    // closer to it than the filter window may still be cancelled
    double generated_until;
    int64_t position;           // net steps appended and not cancelled
    struct sc_message *msgs;
    size_t nmsgs, msgcap;
    struct emitted_run *history;
    size_t hist_head, hist_tail, hist_cap;
    int64_t emitted_position;   // net steps of emitted queue_step runs
    char errmsg[200];
};

// Earliest acceptable clock of a step at `clock` queued after one at
// `prev`: early by at most max_error and by at most half the gap.
static inline uint64_t
stepcompress_early(const struct stepcompress *sc, uint64_t prev,
                   uint64_t clock)
{
    uint64_t slack = (clock - prev) / 2;
    return clock - (slack > sc->max_error ? sc->max_error : slack);
}

// What enqueue_step (stepcompress.c) does with a step in the common
// case, without a call: in the queue's direction, room in the arrays,
// not far after the last step and not before the newest queued one.
// Returns 0, having done nothing, in every other case (then the caller
// takes the full path).
static inline int
stepcompress_queue_fast(struct stepcompress *sc, uint64_t clock, int dir)
{
    int queued = sc->qtail > sc->qhead;
    uint64_t newest = queued ? sc->queue[sc->qtail - 1] : sc->last_step_clock;
    if (dir != sc->queue_dir || sc->qtail >= sc->qcap
        || sc->qtail - sc->qhead > MAX_RUN_COUNT + 2000
        || clock - sc->last_step_clock >= CLOCK_DIFF_MAX || clock < newest)
        return 0;
    sc->early[sc->qtail] = queued ? stepcompress_early(sc, newest, clock)
                                  : clock;
    sc->queue[sc->qtail++] = clock;
    return 1;
}

// stepcompress_commit() without a call in the common case.  Same result.
static inline int
stepcompress_commit_inline(struct stepcompress *sc)
{
    if (!sc->has_pending)
        return 0;
    if (stepcompress_queue_fast(sc, sc->pending_clock, sc->pending_dir)) {
        sc->has_pending = 0;
        return 0;
    }
    return stepcompress_commit(sc);
}

// stepcompress_append() without a call in the common cases -- nothing
// held back yet, or another step in the same direction as the held-back
// one, which then simply joins the queue; anything else takes the full
// path.  Same result; sdir is 0 or 1.
static inline int
stepcompress_append_inline(struct stepcompress *sc, int sdir,
                           double move_print_time, double step_time)
{
    double rel = (step_time + (move_print_time - sc->last_step_print_time))
        * sc->mcu_freq;
    if (rel >= 0. && rel < 9.0e18) {
        uint64_t clock = sc->last_step_clock + (int64_t)rel;
        if (!sc->has_pending) {
            sc->has_pending = 1;
            sc->pending_dir = sc->solver_dir = sdir;
        } else if (sdir != sc->pending_dir
                   || !stepcompress_queue_fast(sc, sc->pending_clock, sdir)) {
            return stepcompress_append(sc, sdir, move_print_time, step_time);
        }
        sc->pending_clock = clock;
        sc->position += 2 * sdir - 1;
        return 0;
    }
    return stepcompress_append(sc, sdir, move_print_time, step_time);
}

#endif
