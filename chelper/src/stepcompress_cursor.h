#ifndef KLIPSIM_STEPCOMPRESS_CURSOR_H
#define KLIPSIM_STEPCOMPRESS_CURSOR_H
/* The step solver's way into the compressor: a cursor that keeps the
 * fields a step touches in the common case in local variables (so in
 * registers) for the length of one solved range, instead of loading and
 * storing them through the compressor pointer for every step.
 *
 * Contract: between sc_cursor_load() and sc_cursor_store() only the
 * cursor may change the compressor.  sc_cursor_append() and
 * sc_cursor_commit() do exactly what stepcompress_append() and
 * stepcompress_commit() do (same messages, queue, position and
 * direction); when a step is not the common case (a direction change, a
 * reversal inside the step+dir+step window, a full queue, a far step,
 * a clock out of order) they store the cursor, call the full function and
 * load the cursor again.  Not part of the Python interface;
 * tests/test_stepcompress_fast.py compares it with the full functions. */
#include <stddef.h>
#include <stdint.h>
#include "stepcompress.h"
#include "stepcompress_internal.h"

struct sc_cursor {
    struct stepcompress *sc;
    uint64_t *queue, *early;    // the compressor's arrays
    size_t qhead, qtail;
    size_t qlimit;              // a step joins the queue here while qtail < qlimit
    uint64_t newest;            // newest queued clock, else last_step_clock
    uint64_t last_step_clock, max_error;
    uint64_t far;               // a step from here on is a far step
    double move_print_time, offset, mcu_freq;
    int queue_dir;
    int fast_dir;               // pending_dir when a step is held back in
                                // the queue's direction, else -1
    struct sc_held held;
};

static inline __attribute__((always_inline)) void
sc_cursor_load(struct sc_cursor *c, struct stepcompress *sc,
               double move_print_time)
{
    c->sc = sc;
    c->queue = sc->queue;
    c->early = sc->early;
    c->qhead = sc->qhead;
    c->qtail = sc->qtail;
    // stepcompress.c's enqueue_step takes the slow way when the queue is
    // full or holds more than MAX_RUN_COUNT + 2000 steps
    size_t most = sc->qhead + MAX_RUN_COUNT + 2001;
    c->qlimit = sc->qcap < most ? sc->qcap : most;
    c->newest = sc->qtail > sc->qhead ? sc->queue[sc->qtail - 1]
                                      : sc->last_step_clock;
    c->last_step_clock = sc->last_step_clock;
    c->max_error = sc->max_error;
    c->far = sc->last_step_clock + CLOCK_DIFF_MAX;
    c->move_print_time = move_print_time;
    // the same subtraction stepcompress_append makes for every step
    c->offset = move_print_time - sc->last_step_print_time;
    c->mcu_freq = sc->mcu_freq;
    c->queue_dir = sc->queue_dir;
    c->held = sc->held;
    c->fast_dir = sc->held.has_pending && sc->held.pending_dir == sc->queue_dir
        ? sc->held.pending_dir : -1;
}

// Write back what the cursor may have changed.
static inline __attribute__((always_inline)) void
sc_cursor_store(const struct sc_cursor *c)
{
    c->sc->qtail = c->qtail;
    c->sc->held = c->held;
}

// enqueue_step's common case for a step in the queue's direction: it
// joins the queue, not before the newest queued step and not far after
// the last sent one (clock >= newest >= last_step_clock, so the far test
// is clock - last_step_clock >= CLOCK_DIFF_MAX).  0 (nothing done)
// otherwise.  The early clock of a step queued into an empty queue is
// never read (the run search bounds the first step from
// last_step_clock), so it is computed the common way, from newest.
static inline __attribute__((always_inline)) int
sc_cursor_push(struct sc_cursor *c, uint64_t clock)
{
    if (c->qtail >= c->qlimit || clock < c->newest || clock >= c->far)
        return 0;
    c->early[c->qtail] = early_clock(c->max_error, c->newest, clock);
    c->queue[c->qtail++] = clock;
    c->newest = clock;
    return 1;
}

static __attribute__((noinline)) int
sc_cursor_slow_append(struct sc_cursor *c, int sdir, double step_time)
{
    sc_cursor_store(c);
    int ret = stepcompress_append(c->sc, sdir, c->move_print_time, step_time);
    sc_cursor_load(c, c->sc, c->move_print_time);
    return ret;
}

// stepcompress_append(sc, sdir, move_print_time, step_time); sdir is 0
// or 1.  The common cases: nothing held back yet, or a step in the
// held-back step's direction (which then joins the queue).
static inline __attribute__((always_inline)) int
sc_cursor_append(struct sc_cursor *c, int sdir, double step_time)
{
    double rel = (step_time + c->offset) * c->mcu_freq;
    if (!(rel >= 0. && rel < 9.0e18))
        return sc_cursor_slow_append(c, sdir, step_time);
    uint64_t clock = c->last_step_clock + (int64_t)rel;
    if (sdir == c->fast_dir) {
        // the held-back step joins the queue; this one is held back
        if (!sc_cursor_push(c, c->held.pending_clock))
            return sc_cursor_slow_append(c, sdir, step_time);
    } else if (!c->held.has_pending) {
        c->held.has_pending = 1;
        c->held.pending_dir = c->held.solver_dir = sdir;
        c->fast_dir = sdir == c->queue_dir ? sdir : -1;
    } else {
        return sc_cursor_slow_append(c, sdir, step_time);
    }
    c->held.pending_clock = clock;
    c->held.position += 2 * sdir - 1;
    return 0;
}

static __attribute__((noinline)) int
sc_cursor_slow_commit(struct sc_cursor *c)
{
    sc_cursor_store(c);
    int ret = stepcompress_commit(c->sc);
    sc_cursor_load(c, c->sc, c->move_print_time);
    return ret;
}

// stepcompress_commit(sc): the held-back step joins the queue.
static inline __attribute__((always_inline)) int
sc_cursor_commit(struct sc_cursor *c)
{
    if (!c->held.has_pending)
        return 0;
    if (c->fast_dir < 0 || !sc_cursor_push(c, c->held.pending_clock))
        return sc_cursor_slow_commit(c);
    c->held.has_pending = 0;
    c->fast_dir = -1;
    return 0;
}

#endif
