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
// The run search follows the strategy Klipper documents for its
// stepcompress (KLIPPER-FACTS 2.6): for a trial `add` find the longest
// run that fits every step's window, then narrow the admissible add range
// by which side the first failing step lies on, by the quadratic
// deviation bound and by the failing step itself, and try again; keep the
// run reaching furthest, but take add=0 when its run is within 1/16 of
// the best count.  Written from that description.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "stepcompress.h"
#include "stepcompress_internal.h"

// Bound on the add difference between two valid quadratic runs of `count`
// steps: (6 + 4*sqrt(2)) * max_error / count^2; Klipper uses 11.
#define QUADRATIC_DEV 11
// Step+dir+step filter window (seconds) from Klipper's stepcompress.
#define SDS_FILTER_TIME .000750
// Klipper stops searching for a better add once a run this long is found.
#define LONG_RUN_COUNT 0x200


struct run {
    int64_t interval, count, add;
};

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
 * Run search
 ****************************************************************/

// Floor and ceiling of n / d for d > 0.  The run search divides on
// every step it tries, so use 32-bit division when n fits (much faster).
static inline int64_t
floor_div(int64_t n, int64_t d)
{
    if (n == (int32_t)n && d == (int32_t)d) {
        int32_t q = (int32_t)n / (int32_t)d, r = (int32_t)n % (int32_t)d;
        return q - (r < 0);
    }
    int64_t q = n / d;
    return q - (n % d < 0);
}

static inline int64_t
ceil_div(int64_t n, int64_t d)
{
    if (n == (int32_t)n && d == (int32_t)d) {
        int32_t q = (int32_t)n / (int32_t)d, r = (int32_t)n % (int32_t)d;
        return q + (r > 0);
    }
    int64_t q = n / d;
    return q + (n % d > 0);
}

// ceil(n / d) for n, d > 0; quotients up to 4 (the common case while
// a run's interval bounds converge) without a division.
static inline int64_t
small_ceil_div(int64_t n, int64_t d)
{
    if (n <= 4 * d)
        return 1 + (n > d) + (n > 2 * d) + (n > 3 * d);
    return ceil_div(n, d);
}

// Acceptable clock window (relative to last_step_clock) of queued step i
// (0 = first queued step): late never, early by at most max_error and by
// at most half the gap to the step before it (last_step_clock for the
// first; the others' earliest clock was computed when queued).
static inline void
step_window(const struct stepcompress *sc, size_t i, int64_t *lo, int64_t *hi)
{
    uint64_t clock = sc->queue[sc->qhead + i];
    uint64_t early = i ? sc->early[sc->qhead + i]
                       : stepcompress_early(sc, sc->last_step_clock, clock);
    *lo = (int64_t)(early - sc->last_step_clock);
    *hi = (int64_t)(clock - sc->last_step_clock);
}

// Result of extending one trial add as far as it goes.
struct trial {
    struct run run;         // longest fitting run (interval = largest valid)
    int reached_end;        // ran out of queued steps before failing
    int64_t fail_imin, fail_imax;   // interval bounds including failing step
};

// Step k (1-based) of a run at a trial interval lies at last_step_clock
// + interval*k + add*k*(k-1)/2.  The walk keeps that clock (absolute,
// modulo 2^64: only differences are compared) for the interval bounds
// imin and imax and updates it by one addition per step, instead of
// multiplying out each step's window relative to last_step_clock; the
// bounds move exactly as ceil/floor of (window edge - add term) / k.
static struct trial
longest_run(const struct stepcompress *sc, size_t avail, int64_t add,
            int64_t imin, int64_t imax)
{
    struct trial t;
    const uint64_t *q = sc->queue + sc->qhead, *early = sc->early + sc->qhead;
    uint64_t at_min = sc->last_step_clock + imin;   // step k at imin
    uint64_t at_max = sc->last_step_clock + imax;   // step k at imax
    int64_t interval = imax, k = 1, add_k = 0;      // add_k = add * (k-1)
    for (;;) {
        k++;
        if ((size_t)(k - 1) >= avail) {
            t.run = (struct run){interval, k - 1, add};
            t.reached_end = 1;
            return t;
        }
        add_k += add;
        at_min += imin + add_k;
        at_max += imax + add_k;
        int64_t short_by = (int64_t)(early[k - 1] - at_min);
        if (short_by > 0) {
            int64_t d = small_ceil_div(short_by, k);
            imin += d;
            at_min += d * k;
        }
        int64_t over_by = (int64_t)(at_max - q[k - 1]);
        if (over_by > 0) {
            int64_t d = small_ceil_div(over_by, k);
            imax -= d;
            at_max -= d * k;
        }
        if (imin > imax)
            break;
        interval = imax;
    }
    t.run = (struct run){interval, k - 1, add};
    t.reached_end = 0;
    t.fail_imin = imin;
    t.fail_imax = imax;
    return t;
}

static int64_t
run_reach(const struct run *r)
{
    return r->add * (r->count * (r->count - 1) / 2) + r->interval * r->count;
}

static struct run
find_run(const struct stepcompress *sc)
{
    size_t avail = sc->qtail - sc->qhead;
    if (avail > MAX_RUN_COUNT)
        avail = MAX_RUN_COUNT;
    int64_t outer_min, outer_max;
    step_window(sc, 0, &outer_min, &outer_max);
    int64_t add = 0, add_lo = -0x8000, add_hi = 0x7fff;
    struct run best = {0, 1, 1}, zero = {0, 0, 0};
    int64_t best_reach = INT64_MIN;
    for (;;) {
        struct trial t = longest_run(sc, avail, add, outer_min, outer_max);
        if (t.reached_end)
            return t.run;
        struct run r = t.run;
        int64_t reach = run_reach(&r);
        if (reach > best_reach
            || (reach == best_reach && r.interval > best.interval)) {
            best = r;
            best_reach = reach;
            if (!add)
                zero = r;
            if (r.count > LONG_RUN_COUNT)
                break;
        }
        // Which way must add move for the failing step to fit?
        int64_t nk = r.count + 1, nf = nk * (nk - 1) / 2;
        int64_t next_lo, next_hi;
        step_window(sc, r.count, &next_lo, &next_hi);
        if (add * nf + r.interval * nk < next_lo) {
            add_lo = add + 1;
            outer_max = t.fail_imax;
        } else {
            add_hi = add - 1;
            outer_min = t.fail_imin;
        }
        if (r.count > 1) {
            int64_t dev = (int64_t)((uint32_t)(sc->max_error * QUADRATIC_DEV)
                                    / (uint32_t)(r.count * r.count));
            if (add_lo < add - dev)
                add_lo = add - dev;
            if (add_hi > add + dev)
                add_hi = add + dev;
        }
        // The failing step must fit with some interval in the outer bounds.
        if (add_lo * nf < next_lo - outer_max * nk)
            add_lo = ceil_div(next_lo - outer_max * nk, nf);
        if (add_hi * nf > next_hi - outer_min * nk)
            add_hi = floor_div(next_hi - outer_min * nk, nf);
        if (add_lo > add_hi)
            break;
        add = add_hi - (add_hi - add_lo) / 4;
    }
    if (zero.count + zero.count / 16 >= best.count)
        return (struct run){zero.interval, zero.count, 0};
    return best;
}

// Independent check that every step of a run lies in its window.
static int
verify_run(struct stepcompress *sc, const struct run *r)
{
    char buf[160];
    if (r->count <= 0 || r->count > MAX_RUN_COUNT
        || r->interval < 0 || r->interval >= 0x80000000LL
        || r->add < -0x8000 || r->add > 0x7fff) {
        snprintf(buf, sizeof(buf), "invalid run interval=%lld count=%lld"
                 " add=%lld", (long long)r->interval, (long long)r->count,
                 (long long)r->add);
        return fail(sc, buf);
    }
    int64_t t = 0, iv = r->interval;
    for (int64_t i = 0; i < r->count; i++) {
        int64_t lo, hi;
        step_window(sc, i, &lo, &hi);
        t += iv;
        if (t < lo || t > hi) {
            snprintf(buf, sizeof(buf), "run interval=%lld count=%lld add=%lld"
                     " puts step %lld at %lld outside [%lld, %lld]",
                     (long long)r->interval, (long long)r->count,
                     (long long)r->add, (long long)i, (long long)t,
                     (long long)lo, (long long)hi);
            return fail(sc, buf);
        }
        iv += r->add;
    }
    return 0;
}

/****************************************************************
 * History of emitted runs
 ****************************************************************/

// Runs kept when nobody expires the history (bounded memory).
#define MAX_HISTORY_RUNS 8192

static void
record_run(struct stepcompress *sc, uint64_t base, int64_t interval,
           int64_t count, int64_t add, uint64_t last_clock)
{
    if (sc->hist_tail - sc->hist_head >= MAX_HISTORY_RUNS)
        sc->hist_head++;
    if (sc->hist_tail == sc->hist_cap) {
        if (sc->hist_head) {
            memmove(sc->history, sc->history + sc->hist_head,
                    (sc->hist_tail - sc->hist_head) * sizeof(*sc->history));
            sc->hist_tail -= sc->hist_head;
            sc->hist_head = 0;
        }
        if (sc->hist_tail * 2 >= sc->hist_cap) {
            sc->hist_cap = sc->hist_cap ? 2 * sc->hist_cap : 256;
            sc->history = realloc(sc->history,
                                  sc->hist_cap * sizeof(*sc->history));
            if (!sc->history)
                abort();
        }
    }
    int sign = sc->queue_dir ? 1 : -1;
    struct emitted_run *h = &sc->history[sc->hist_tail++];
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
        const struct emitted_run *h = &sc->history[i - 1];
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
        return sc->history[sc->hist_head].start_position;
    return sc->emitted_position;
}

int
stepcompress_set_last_position(struct stepcompress *sc, uint64_t clock,
                               int64_t position)
{
    if (stepcompress_flush(sc, UINT64_MAX))
        return SC_ERROR;
    // a zero-step marker run: positions from `clock` on count from here
    sc->emitted_position = sc->position = position;
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
           && sc->history[sc->hist_head].last_clock < clock)
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
        struct run r = find_run(sc);
        if (verify_run(sc, &r))
            return SC_ERROR;
        uint64_t start = sc->last_step_clock;
        push_message(sc, SC_MSG_QUEUE_STEP, start, start,
                     r.interval, r.count, r.add);
        sc->last_step_clock = start + run_reach(&r);
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
            sc->early = realloc(sc->early, sc->qcap * sizeof(*sc->early));
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
    if (!sc->has_pending)
        return 0;
    sc->has_pending = 0;
    return enqueue_step(sc, sc->pending_clock, sc->pending_dir);
}

int
stepcompress_append_clock(struct stepcompress *sc, int sdir, uint64_t clock)
{
    sdir = sdir ? 1 : 0;
    if (sc->has_pending) {
        if (sdir != sc->pending_dir) {
            double gap = (double)(int64_t)(clock - sc->pending_clock);
            if (gap < sc->filter_ticks) {
                // step then reverse step within the filter window: drop both
                sc->has_pending = 0;
                sc->position += sdir ? 1 : -1;
                sc->solver_dir = sdir;
                return 0;
            }
        }
        if (stepcompress_commit(sc))
            return SC_ERROR;
    }
    sc->has_pending = 1;
    sc->pending_clock = clock;
    sc->pending_dir = sdir;
    sc->solver_dir = sdir;
    sc->position += sdir ? 1 : -1;
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
                    - (double)sc->pending_clock);
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
    if (sc->has_pending && move_clock >= sc->pending_clock
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
    return sc->position;
}

int
stepcompress_step_dir(struct stepcompress *sc)
{
    return sc->solver_dir;
}

uint32_t
stepcompress_oid(struct stepcompress *sc)
{
    return sc->oid;
}
