// Step compression into Klipper's queue_step (interval, count, add).
//
// Contract: steps arrive in time order as absolute MCU clocks (or as
// print times converted with set_time) with a direction.  Every emitted
// step lies in [ideal - min(max_error, half the gap to the previous
// step), ideal]: early by a bounded amount, never late.  A direction
// change first compresses every queued step, then emits
// set_next_step_dir.  One step is held back ("pending") so that a step
// immediately followed (within 750 us) by a step in the opposite
// direction cancels both, as Klipper's step+dir+step filter does; a
// flush emits the held-back step only once no step still to be generated
// can cancel it (see stepcompress_flush).  The emitted runs are remembered (bounded) so the position at a past clock
// can be looked up (find_past_position).
//
// The run search (which queue_step covers the next queued steps) is in
// stepcompress_run.c.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stepcompress.h"
#include "stepcompress_internal.h"
#include "stepcompress_cursor.h"
#include "stepcompress_run.h"

// Step+dir+step filter window (seconds) from Klipper's stepcompress.
#define SDS_FILTER_TIME .000750


// An emitted queue_step, kept to answer "where was the stepper at clock
// c" (homing, position queries) until expired.
struct emitted_run {
    uint64_t base_clock, last_clock;    // clock before the first step, last
    int64_t start_position, interval, count, add;
    int sign;                           // +1 for logical direction 1
};

struct stepcompress *
stepcompress_new(uint32_t oid, uint32_t max_error, int invert_dir)
{
    struct stepcompress *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return NULL;
    sc->oid = oid;
    sc->max_error = max_error;
    sc->invert_dir = invert_dir ? 1 : 0;
    sc->queue_dir = -1;
    sc->mcu_freq = 1.;
    sc->filter_ticks = SDS_FILTER_TIME;
    sc->last_step_print_time = -.5;
    sc->generated_until = 1e300;
    return sc;
}

// Invert the direction pin from now on.  Steps already queued keep the
// physical direction already sent, so they now count as the opposite
// logical direction (as Klipper's stepcompress_set_invert_sdir: no
// message is sent, the next step sends set_next_step_dir only if its
// physical direction differs from the pin's).
void
stepcompress_set_invert_dir(struct stepcompress *sc, int invert_dir)
{
    invert_dir = invert_dir ? 1 : 0;
    if (invert_dir == sc->invert_dir)
        return;
    sc->invert_dir = invert_dir;
    if (sc->queue_dir >= 0)
        sc->queue_dir ^= 1;
}

int
stepcompress_invert_dir(struct stepcompress *sc)
{
    return sc->invert_dir;
}

void
stepcompress_delete(struct stepcompress *sc)
{
    if (!sc)
        return;
    free(sc->queue);
    free(sc->early);
    free(sc->msgs);
    free(sc->history);
    free(sc);
}

static int
fail(struct stepcompress *sc, const char *what)
{
    snprintf(sc->errmsg, sizeof(sc->errmsg), "stepcompress oid=%u: %s",
             sc->oid, what);
    return SC_ERROR;
}

// Record a caller's error (the step solver's bounds) in the same
// one-line form as the compressor's own.
int
stepcompress_fail(struct stepcompress *sc, const char *what)
{
    return fail(sc, what);
}

const char *
stepcompress_error(struct stepcompress *sc)
{
    return sc->errmsg;
}

// Print time of the last step shifted half a tick early, so converting a
// step time with truncation rounds it to the nearest clock.
static void
update_last_step_print_time(struct stepcompress *sc)
{
    double lsc = (double)sc->last_step_clock;
    sc->last_step_print_time = sc->time_offset + (lsc - .5) / sc->mcu_freq;
}

void
stepcompress_set_time(struct stepcompress *sc, double time_offset,
                      double mcu_freq)
{
    sc->time_offset = time_offset;
    sc->mcu_freq = mcu_freq;
    sc->filter_ticks = SDS_FILTER_TIME * mcu_freq;
    update_last_step_print_time(sc);
}

/****************************************************************
 * Messages
 ****************************************************************/

static void
push_message(struct stepcompress *sc, uint32_t kind, uint64_t req_clock,
             uint64_t min_clock, int64_t p0, int64_t p1, int64_t p2)
{
    if (sc->nmsgs == sc->msgcap) {
        sc->msgcap = sc->msgcap ? 2 * sc->msgcap : 256;
        sc->msgs = realloc(sc->msgs, sc->msgcap * sizeof(*sc->msgs));
        if (!sc->msgs)
            abort();
    }
    struct sc_message *m = &sc->msgs[sc->nmsgs++];
    m->req_clock = req_clock;
    m->min_clock = min_clock;
    m->p0 = p0;
    m->p1 = p1;
    m->p2 = p2;
    m->kind = kind;
    m->reserved = 0;
}

// Queue a message as if the compressor had made it (tests of the merge
// in steppersync.c, other message sources).
void
stepcompress_queue_message(struct stepcompress *sc, uint32_t kind,
                           uint64_t req_clock, uint64_t min_clock,
                           int64_t p0, int64_t p1, int64_t p2)
{
    push_message(sc, kind, req_clock, min_clock, p0, p1, p2);
}

int
stepcompress_message_count(struct stepcompress *sc)
{
    return (int)sc->nmsgs;
}

int
stepcompress_take_messages(struct stepcompress *sc, struct sc_message *out,
                           int max_count)
{
    size_t n = sc->nmsgs < (size_t)max_count ? sc->nmsgs : (size_t)max_count;
    memcpy(out, sc->msgs, n * sizeof(*out));
    memmove(sc->msgs, sc->msgs + n, (sc->nmsgs - n) * sizeof(*out));
    sc->nmsgs -= n;
    return (int)n;
}

/****************************************************************
 * History of emitted runs
 ****************************************************************/

// Runs kept when nobody expires the history (bounded memory).  A power
// of two: the history is a ring of a power-of-two capacity, indexed by
// running counts (hist_head, hist_tail) modulo that capacity, so
// dropping the oldest run moves nothing.
#define MAX_HISTORY_RUNS 8192

static inline struct emitted_run *
history_at(struct stepcompress *sc, size_t i)
{
    return &sc->history[i & (sc->hist_cap - 1)];
}

// Double the ring, each run kept at its index modulo the new capacity.
static void
grow_history(struct stepcompress *sc)
{
    size_t cap = sc->hist_cap ? 2 * sc->hist_cap : 256;
    struct emitted_run *ring = malloc(cap * sizeof(*ring));
    if (!ring)
        abort();
    for (size_t i = sc->hist_head; i < sc->hist_tail; i++)
        ring[i & (cap - 1)] = *history_at(sc, i);
    free(sc->history);
    sc->history = ring;
    sc->hist_cap = cap;
}

static void
record_run(struct stepcompress *sc, uint64_t base, int64_t interval,
           int64_t count, int64_t add, uint64_t last_clock)
{
    if (sc->hist_tail - sc->hist_head >= MAX_HISTORY_RUNS)
        sc->hist_head++;
    if (sc->hist_tail - sc->hist_head == sc->hist_cap)
        grow_history(sc);
    int sign = sc->queue_dir ? 1 : -1;
    struct emitted_run *h = history_at(sc, sc->hist_tail++);
    h->base_clock = base;
    h->last_clock = last_clock;
    h->start_position = sc->emitted_position;
    h->interval = interval;
    h->count = count;
    h->add = add;
    h->sign = sign;
    sc->emitted_position += sign * count;
}

// Clock of step k (1-based) of a run.
static inline uint64_t
run_step_clock(const struct emitted_run *h, int64_t k)
{
    return h->base_clock + k * h->interval + h->add * (k * (k - 1) / 2);
}

int64_t
stepcompress_find_past_position(struct stepcompress *sc, uint64_t clock)
{
    for (size_t i = sc->hist_tail; i > sc->hist_head; i--) {
        const struct emitted_run *h = history_at(sc, i - 1);
        if (clock < run_step_clock(h, 1))
            continue;
        if (clock >= h->last_clock)
            return h->start_position + h->sign * h->count;
        // largest k with step k at or before clock (steps are increasing)
        int64_t lo = 1, hi = h->count - 1;
        while (lo < hi) {
            int64_t mid = (lo + hi + 1) / 2;
            if (run_step_clock(h, mid) <= clock)
                lo = mid;
            else
                hi = mid - 1;
        }
        return h->start_position + h->sign * lo;
    }
    if (sc->hist_tail > sc->hist_head)
        return history_at(sc, sc->hist_head)->start_position;
    return sc->emitted_position;
}

int
stepcompress_set_last_position(struct stepcompress *sc, uint64_t clock,
                               int64_t position)
{
    if (stepcompress_flush(sc, UINT64_MAX))
        return SC_ERROR;
    // a zero-step marker run: positions from `clock` on count from here
    sc->emitted_position = sc->held.position = position;
    int saved_dir = sc->queue_dir;
    sc->queue_dir = 1;
    record_run(sc, clock, 0, 0, 0, clock);
    sc->queue_dir = saved_dir;
    return 0;
}

void
stepcompress_expire_history(struct stepcompress *sc, uint64_t clock)
{
    while (sc->hist_head < sc->hist_tail
           && history_at(sc, sc->hist_head)->last_clock < clock)
        sc->hist_head++;
}

/****************************************************************
 * Queue
 ****************************************************************/

// Compress queued steps until last_step_clock reaches move_clock.
static int
compress_until(struct stepcompress *sc, uint64_t move_clock)
{
    while (sc->last_step_clock < move_clock && sc->qhead < sc->qtail) {
        struct sc_run r = sc_find_run(sc);
        if (sc_verify_run(sc, &r))
            return SC_ERROR;
        uint64_t start = sc->last_step_clock;
        push_message(sc, SC_MSG_QUEUE_STEP, start, start,
                     r.interval, r.count, r.add);
        sc->last_step_clock = start + sc_run_reach(&r);
        record_run(sc, start, r.interval, r.count, r.add,
                   sc->last_step_clock);
        sc->qhead += r.count;
    }
    if (sc->qhead == sc->qtail)
        sc->qhead = sc->qtail = 0;
    update_last_step_print_time(sc);
    return 0;
}

static void
queue_push(struct stepcompress *sc, uint64_t clock)
{
    if (sc->qtail == sc->qcap) {
        size_t n = sc->qtail - sc->qhead;
        if (sc->qhead) {
            memmove(sc->queue, sc->queue + sc->qhead, n * sizeof(*sc->queue));
            memmove(sc->early, sc->early + sc->qhead, n * sizeof(*sc->early));
            sc->qtail = n;
            sc->qhead = 0;
        }
        if (sc->qtail * 2 >= sc->qcap) {
            sc->qcap = sc->qcap ? 2 * sc->qcap : 4096;
            sc->queue = realloc(sc->queue, sc->qcap * sizeof(*sc->queue));
            // one slot more: the run search's sentinel (stepcompress_run.c)
            sc->early = realloc(sc->early,
                                (sc->qcap + 1) * sizeof(*sc->early));
            if (!sc->queue || !sc->early)
                abort();
        }
    }
    sc->early[sc->qtail] = sc->qtail > sc->qhead
        ? stepcompress_early(sc, sc->queue[sc->qtail - 1], clock) : clock;
    sc->queue[sc->qtail++] = clock;
}

static int
send_direction(struct stepcompress *sc, int dir)
{
    if (compress_until(sc, UINT64_MAX))
        return SC_ERROR;
    sc->queue_dir = dir;
    push_message(sc, SC_MSG_SET_NEXT_STEP_DIR, sc->last_step_clock, 0,
                 dir ^ sc->invert_dir, 0, 0);
    return 0;
}

// Move one step into the compression queue.
static inline int
enqueue_step(struct stepcompress *sc, uint64_t clock, int dir)
{
    if (dir != sc->queue_dir && send_direction(sc, dir))
        return SC_ERROR;
    uint64_t newest = sc->qtail > sc->qhead ? sc->queue[sc->qtail - 1]
                                            : sc->last_step_clock;
    if (clock < newest) {
        char buf[160];
        snprintf(buf, sizeof(buf), "step at clock %llu is before the previous"
                 " step at %llu (time went backwards)",
                 (unsigned long long)clock, (unsigned long long)newest);
        return fail(sc, buf);
    }
    if (clock - sc->last_step_clock >= CLOCK_DIFF_MAX) {
        if (compress_until(sc, clock - CLOCK_DIFF_MAX + 1))
            return SC_ERROR;
        if (clock - sc->last_step_clock >= CLOCK_DIFF_MAX) {
            // Lone far step: its own message, requested at its own clock.
            // The MCU adds intervals in 32-bit arithmetic, so an interval
            // of 2^32 ticks or more (a stepper idle for over 23.8 s at
            // 180 MHz) is sent modulo 2^32 and still lands on the right
            // MCU clock; Klipper's reference streams show intervals above
            // 2^31 (corexy_zigzag: 2281424094).
            uint64_t interval = (clock - sc->last_step_clock) & 0xffffffffULL;
            push_message(sc, SC_MSG_QUEUE_STEP, clock, sc->last_step_clock,
                         (int64_t)interval, 1, 0);
            // history keeps the true (64-bit) interval
            record_run(sc, sc->last_step_clock,
                       (int64_t)(clock - sc->last_step_clock), 1, 0, clock);
            sc->last_step_clock = clock;
            update_last_step_print_time(sc);
            return 0;
        }
    }
    if (sc->qtail - sc->qhead > MAX_RUN_COUNT + 2000) {
        // Klipper keeps at most ~64K unflushed steps: compress up to the
        // step 65535 before the newest
        if (compress_until(sc, sc->queue[sc->qtail - MAX_RUN_COUNT]))
            return SC_ERROR;
    }
    queue_push(sc, clock);
    return 0;
}

int
stepcompress_commit(struct stepcompress *sc)
{
    if (!sc->held.has_pending)
        return 0;
    sc->held.has_pending = 0;
    return enqueue_step(sc, sc->held.pending_clock, sc->held.pending_dir);
}

int
stepcompress_append_clock(struct stepcompress *sc, int sdir, uint64_t clock)
{
    sdir = sdir ? 1 : 0;
    if (sc->held.has_pending) {
        if (sdir != sc->held.pending_dir) {
            double gap = (double)(int64_t)(clock - sc->held.pending_clock);
            if (gap < sc->filter_ticks) {
                // step then reverse step within the filter window: drop both
                sc->held.has_pending = 0;
                sc->held.position += sdir ? 1 : -1;
                sc->held.solver_dir = sdir;
                return 0;
            }
        }
        if (stepcompress_commit(sc))
            return SC_ERROR;
    }
    sc->held.has_pending = 1;
    sc->held.pending_clock = clock;
    sc->held.pending_dir = sdir;
    sc->held.solver_dir = sdir;
    sc->held.position += sdir ? 1 : -1;
    return 0;
}

int
stepcompress_append(struct stepcompress *sc, int sdir,
                    double move_print_time, double step_time)
{
    double offset = move_print_time - sc->last_step_print_time;
    double rel = (step_time + offset) * sc->mcu_freq;
    if (!(rel >= 0. && rel < 9.0e18)) {
        char buf[140];
        snprintf(buf, sizeof(buf), "step at print time %.9f is not after the"
                 " last step clock %llu (or not a number)",
                 move_print_time + step_time,
                 (unsigned long long)sc->last_step_clock);
        return fail(sc, buf);
    }
    // rel < 2^63 here, so the signed conversion (cheaper) is exact
    return stepcompress_append_clock(sc, sdir,
                                     sc->last_step_clock + (int64_t)rel);
}

// Operations through one cursor, as the step solver makes them over a
// solved range (the tests compare this with the full functions): ops[i]
// 0 or 1 appends a step in that direction at step time times[i] of a
// move starting at move_print_time, 2 commits.  Stops at the first error.
int
stepcompress_cursor_run(struct stepcompress *sc, double move_print_time,
                        int count, const int *ops, const double *times)
{
    struct sc_cursor c;
    int ret = 0, i;
    sc_cursor_load(&c, sc, move_print_time);
    for (i = 0; i < count && !ret; i++)
        ret = ops[i] == 2 ? sc_cursor_commit(&c)
                          : sc_cursor_append(&c, ops[i] ? 1 : 0, times[i]);
    sc_cursor_store(&c);
    return ret;
}

void
stepcompress_note_generated(struct stepcompress *sc, double print_time)
{
    sc->generated_until = print_time;
}

// Can the held-back step still be cancelled by a reverse step that is not
// generated yet (it lies within the filter window of the generation end)?
static int
pending_may_be_cancelled(struct stepcompress *sc)
{
    double until = ((sc->generated_until - sc->time_offset) * sc->mcu_freq
                    - (double)sc->held.pending_clock);
    return until < sc->filter_ticks;
}

// The held-back step is emitted when move_clock reaches it, unless a step
// source that reported how far it generated (the solver) may still cancel
// it: Klipper's drip (homing) segments, which flush up to the generation
// end, leave the step before each segment end pending (cartesian_homing
// reference: 118 then 200 steps per 50 ms segment, not 119), while a
// batch flush 50 ms before the generation end emits a step 738 us before
// its clock (cartesian_print_cube reference, line order).
int
stepcompress_flush(struct stepcompress *sc, uint64_t move_clock)
{
    if (sc->held.has_pending && move_clock >= sc->held.pending_clock
        && (move_clock == UINT64_MAX || !pending_may_be_cancelled(sc))
        && stepcompress_commit(sc))
        return SC_ERROR;
    return compress_until(sc, move_clock);
}

int
stepcompress_reset(struct stepcompress *sc, uint64_t last_step_clock)
{
    if (stepcompress_flush(sc, UINT64_MAX))
        return SC_ERROR;
    sc->last_step_clock = last_step_clock;
    sc->queue_dir = -1;
    update_last_step_print_time(sc);
    return 0;
}

int
stepcompress_queue_reset_step_clock(struct stepcompress *sc, uint64_t clock)
{
    if (stepcompress_flush(sc, UINT64_MAX))
        return SC_ERROR;
    push_message(sc, SC_MSG_RESET_STEP_CLOCK, sc->last_step_clock, 0,
                 (int64_t)clock, 0, 0);
    return 0;
}

uint64_t
stepcompress_last_step_clock(struct stepcompress *sc)
{
    return sc->last_step_clock;
}

int64_t
stepcompress_position(struct stepcompress *sc)
{
    return sc->held.position;
}

int
stepcompress_step_dir(struct stepcompress *sc)
{
    return sc->held.solver_dir;
}

uint32_t
stepcompress_oid(struct stepcompress *sc)
{
    return sc->oid;
}
