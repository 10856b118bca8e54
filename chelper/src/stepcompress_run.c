// Run search of the step compressor: which queue_step (interval, count,
// add) covers the most queued steps, each inside its window.
//
// Contract: sc_find_run() looks at the steps queued in a compressor
// (stepcompress_internal.h) and returns the run Klipper's stepcompress
// would choose for them; it changes nothing (a sentinel it writes past
// the steps it walks is restored).  sc_verify_run() checks a
// run independently, step by step.
//
// The search follows the strategy Klipper documents for its stepcompress
// (KLIPPER-FACTS 2.6): for a trial `add` find the longest run that fits
// every step's window, then narrow the admissible add range by which
// side the first failing step lies on, by the quadratic deviation bound
// and by the failing step itself, and try again; keep the run reaching
// furthest, but take add=0 when its run is within 1/16 of the best
// count.  Written from that description.
//
// Cost: the walk of one trial (longest_run) is where compile spends most
// of its compression time, a few trials per run and one pass over the
// run's steps each.  It is written for that: one addition per bound and
// step, and a bound update (about one step in two) that divides by
// multiplying with a reciprocal (exact, see recip[]) and does not wait
// for the update of the step before (see walk_steps).
// tests/test_stepcompress_run.py compares it with a plain model of the
// same search.
#include <stdio.h>
#include "stepcompress_run.h"

// Bound on the add difference between two valid quadratic runs of `count`
// steps: (6 + 4*sqrt(2)) * max_error / count^2; Klipper uses 11.
#define QUADRATIC_DEV 11
// Klipper stops searching for a better add once a run this long is found.
#define LONG_RUN_COUNT 0x200

/****************************************************************
 * Integer division
 ****************************************************************/

// Floor and ceiling of n / d for d > 0 (the rare divisions of the add
// range; 32-bit division when n fits, it is much faster).
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

// ceil(2^64 / k) for 2 <= k < RECIP_COUNT (entries 0 and 1 unused): for
// any n < 2^32, floor(n / k) = (n * recip[k]) >> 64 exactly (Lemire,
// Kaser and Kurz, "Faster remainder by direct computation", 2019: a
// 64-bit fraction suffices for 32-bit numerators and divisors).
#define RECIP_COUNT 1024
#define RECIP1(k) (UINT64_MAX / ((k) > 1 ? (uint64_t)(k) : 2) + 1)
#define RECIP4(k) RECIP1(k), RECIP1(k + 1), RECIP1(k + 2), RECIP1(k + 3)
#define RECIP16(k) RECIP4(k), RECIP4(k + 4), RECIP4(k + 8), RECIP4(k + 12)
#define RECIP64(k) RECIP16(k), RECIP16(k + 16), RECIP16(k + 32),          \
        RECIP16(k + 48)
#define RECIP256(k) RECIP64(k), RECIP64(k + 64), RECIP64(k + 128),         \
        RECIP64(k + 192)
static const uint64_t recip[RECIP_COUNT] = {
    RECIP256(0), RECIP256(256), RECIP256(512), RECIP256(768)
};

// High 64 bits of a 64 x 64-bit product (unsigned all through: a signed
// operand makes gcc add a sign correction).
static inline uint64_t
mul_high(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

// floor(n / k) and ceil(n / k) for k >= 2: the walk's bound updates,
// about one step in two, so by a multiplication with recip[k] when the
// caller says k < RECIP_COUNT (`small_k`) and n is in [0, 2^32) (the
// numerator of ceil: n - 1), else by the division.
static inline __attribute__((always_inline)) int64_t
walk_floor_div(int64_t n, int64_t k, int small_k)
{
    uint64_t un = (uint64_t)n;
    if (__builtin_expect(small_k && un <= UINT32_MAX, 1))
        return (int64_t)mul_high(recip[k], un);
    return floor_div(n, k);
}

static inline __attribute__((always_inline)) int64_t
walk_ceil_div(int64_t n, int64_t k, int small_k)
{
    uint64_t un1 = (uint64_t)n - 1;
    if (__builtin_expect(small_k && un1 <= UINT32_MAX, 1))
        return (int64_t)mul_high(recip[k], un1) + 1;
    return ceil_div(n, k);
}

/****************************************************************
 * Trial runs
 ****************************************************************/

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
    struct sc_run run;      // longest fitting run (interval = largest valid)
    int reached_end;        // ran out of queued steps before failing
    int64_t fail_imin, fail_imax;   // interval bounds including failing step
};

// The walk of one trial add over queued steps k0..k1 (1-based), from the
// interval bounds after step k0-1.  Step k of a run at interval I lies at
// last_step_clock + I*k + add*k*(k-1)/2, so it fits when
//     early_k - origin_k <= imin*k  and  imax*k <= clock_k - origin_k
// with origin_k = last_step_clock + add*k*(k-1)/2.  The walk keeps
// origin_k, imin*k and imax*k by one addition each per step.  A step
// outside moves its bound to ceil/floor((window edge - origin_k) / k),
// a value that does not depend on the bound before it, so the processor
// need not wait for one step's update to start on the next.  The bounds
// only ever narrow; the walk stops at the first step that leaves none.
// The loop has no end test: step k1+1's early clock is replaced, for the
// length of the walk, by a sentinel no interval reaches (SENTINEL_GAP
// ticks after last_step_clock), so the walk always stops at a failing
// step, and stopping at k1+1 means k0..k1 all fit.  (The early array has
// one slot past the queue's capacity for the sentinel of a walk to the
// queue's end.)
#define SENTINEL_GAP ((uint64_t)1 << 62)

struct walk {
    uint64_t origin;            // origin_k of the last step walked
    int64_t add_k;              // add*(k-1) of the last step walked
    int64_t imin, imax;         // interval bounds so far
    int64_t failed_at;          // the failing step (0: none in k0..k1)
    int64_t fail_imin, fail_imax;   // the bounds including the failing step
};

static inline __attribute__((always_inline)) void
walk_steps(struct stepcompress *sc, struct walk *w, int64_t add,
           int64_t k0, int64_t k1, int small_k)
{
    const uint64_t *q = sc->queue + sc->qhead, *early = sc->early + sc->qhead;
    uint64_t *stop = sc->early + sc->qhead + k1, saved = *stop;
    *stop = sc->last_step_clock + SENTINEL_GAP;
    uint64_t origin = w->origin;
    int64_t add_k = w->add_k, imin = w->imin, imax = w->imax;
    int64_t min_k = imin * (k0 - 1), max_k = imax * (k0 - 1);
    int64_t k, fail_imin;
    for (k = k0;; k++) {
        origin += add_k += add;
        min_k += imin;
        max_k += imax;
        int64_t lo = (int64_t)(early[k - 1] - origin);
        if (lo > min_k) {
            int64_t new_imin = walk_ceil_div(lo, k, small_k);
            if (new_imin > imax) {
                fail_imin = new_imin;
                break;
            }
            imin = new_imin;
            min_k = imin * k;
        }
        int64_t hi = (int64_t)(q[k - 1] - origin);
        if (hi < max_k) {
            int64_t new_imax = walk_floor_div(hi, k, small_k);
            if (imin > new_imax) {
                fail_imin = imin;
                break;
            }
            imax = new_imax;
            max_k = imax * k;
        }
    }
    *stop = saved;
    w->imin = imin;
    w->imax = imax;
    if (k > k1) {
        // the sentinel: the state after step k1, for a walk that goes on
        w->origin = origin - add_k;
        w->add_k = add_k - add;
        w->failed_at = 0;
        return;
    }
    // the failing step's own upper bound, for the next trial's range
    int64_t hi = (int64_t)(q[k - 1] - origin);
    w->failed_at = k;
    w->fail_imin = fail_imin;
    w->fail_imax = hi < max_k ? walk_floor_div(hi, k, small_k) : imax;
}

// Extend trial add from outer interval bounds [imin, imax] (those of the
// first queued step, narrowed by earlier trials) as far as it fits.
static struct trial
longest_run(struct stepcompress *sc, int64_t avail, int64_t add,
            int64_t imin, int64_t imax)
{
    struct walk w = {sc->last_step_clock, 0, imin, imax, 0, 0, 0};
    int64_t split = avail < RECIP_COUNT - 1 ? avail : RECIP_COUNT - 1;
    walk_steps(sc, &w, add, 2, split, 1);
    if (!w.failed_at && split < avail)
        walk_steps(sc, &w, add, split + 1, avail, 0);
    if (!w.failed_at) {
        struct trial t = {{w.imax, avail, add}, 1, 0, 0};
        return t;
    }
    struct trial t = {{w.imax, w.failed_at - 1, add}, 0, w.fail_imin,
                      w.fail_imax};
    return t;
}

/****************************************************************
 * Choosing the add
 ****************************************************************/

// The admissible add range after a trial: which way must add move for
// the failing step to fit, how far can it move by the quadratic
// deviation bound, and where must it lie for the failing step to fit
// with some interval in the (narrowed) outer bounds.
struct add_search {
    int64_t add, add_lo, add_hi;
    int64_t outer_min, outer_max;
};

static void
narrow_add_range(const struct stepcompress *sc, struct add_search *s,
                 const struct trial *t)
{
    const struct sc_run *r = &t->run;
    int64_t add = s->add;
    int64_t nk = r->count + 1, nf = nk * (nk - 1) / 2;
    int64_t next_lo, next_hi;
    step_window(sc, r->count, &next_lo, &next_hi);
    if (add * nf + r->interval * nk < next_lo) {
        s->add_lo = add + 1;
        s->outer_max = t->fail_imax;
    } else {
        s->add_hi = add - 1;
        s->outer_min = t->fail_imin;
    }
    if (r->count > 1) {
        int64_t dev = (int64_t)((uint32_t)(sc->max_error * QUADRATIC_DEV)
                                / (uint32_t)(r->count * r->count));
        if (s->add_lo < add - dev)
            s->add_lo = add - dev;
        if (s->add_hi > add + dev)
            s->add_hi = add + dev;
    }
    if (s->add_lo * nf < next_lo - s->outer_max * nk)
        s->add_lo = ceil_div(next_lo - s->outer_max * nk, nf);
    if (s->add_hi * nf > next_hi - s->outer_min * nk)
        s->add_hi = floor_div(next_hi - s->outer_min * nk, nf);
}

struct sc_run
sc_find_run(struct stepcompress *sc)
{
    int64_t avail = (int64_t)(sc->qtail - sc->qhead);
    if (avail > MAX_RUN_COUNT)
        avail = MAX_RUN_COUNT;
    struct add_search s = {0, -0x8000, 0x7fff, 0, 0};
    step_window(sc, 0, &s.outer_min, &s.outer_max);
    struct sc_run best = {0, 1, 1}, zero = {0, 0, 0};
    int64_t best_reach = INT64_MIN;
    for (;;) {
        struct trial t = longest_run(sc, avail, s.add, s.outer_min,
                                     s.outer_max);
        if (t.reached_end)
            return t.run;
        int64_t reach = sc_run_reach(&t.run);
        if (reach > best_reach
            || (reach == best_reach && t.run.interval > best.interval)) {
            best = t.run;
            best_reach = reach;
            if (!s.add)
                zero = t.run;
            if (t.run.count > LONG_RUN_COUNT)
                break;
        }
        narrow_add_range(sc, &s, &t);
        if (s.add_lo > s.add_hi)
            break;
        s.add = s.add_hi - (s.add_hi - s.add_lo) / 4;
    }
    if (zero.count + zero.count / 16 >= best.count)
        return (struct sc_run){zero.interval, zero.count, 0};
    return best;
}

/****************************************************************
 * Independent check
 ****************************************************************/

// Every step of run r inside its window (else the compressor's error).
int
sc_verify_run(struct stepcompress *sc, const struct sc_run *r)
{
    char buf[160];
    if (r->count <= 0 || r->count > MAX_RUN_COUNT
        || r->count > (int64_t)(sc->qtail - sc->qhead)
        || r->interval < 0 || r->interval >= 0x80000000LL
        || r->add < -0x8000 || r->add > 0x7fff) {
        snprintf(buf, sizeof(buf), "invalid run interval=%lld count=%lld"
                 " add=%lld", (long long)r->interval, (long long)r->count,
                 (long long)r->add);
        return stepcompress_fail(sc, buf);
    }
    // step i at clock `at` must lie in its window [early_i, clock_i]
    // (early_i <= clock_i always); the first step's early clock is
    // bounded by last_step_clock, the others' were computed when queued.
    // The loop has no end test: the early clock after the run's last step
    // is, while it runs, one no step reaches (as in walk_steps).
    const uint64_t *q = sc->queue + sc->qhead, *early = sc->early + sc->qhead;
    uint64_t *stop = sc->early + sc->qhead + r->count, saved = *stop;
    *stop = UINT64_MAX;
    uint64_t at = sc->last_step_clock + r->interval;
    int64_t i = 0, iv = r->interval + r->add;
    if (at >= stepcompress_early(sc, sc->last_step_clock, q[0]) && at <= q[0])
        for (i = 1;; i++) {
            at += iv;
            iv += r->add;
            if (at < early[i] || at > q[i])
                break;
        }
    *stop = saved;
    if (i < r->count) {
        uint64_t lo = i ? early[i]
                        : stepcompress_early(sc, sc->last_step_clock, q[0]);
        snprintf(buf, sizeof(buf), "run interval=%lld count=%lld add=%lld"
                 " puts step %lld at %lld outside [%lld, %lld]",
                 (long long)r->interval, (long long)r->count,
                 (long long)r->add, (long long)i,
                 (long long)(at - sc->last_step_clock),
                 (long long)(lo - sc->last_step_clock),
                 (long long)(q[i] - sc->last_step_clock));
        return stepcompress_fail(sc, buf);
    }
    return 0;
}

int
stepcompress_check_run(struct stepcompress *sc, int64_t interval,
                       int64_t count, int64_t add)
{
    struct sc_run r = {interval, count, add};
    return sc_verify_run(sc, &r);
}
