#ifndef KLIPSIM_ITERSOLVE_SOLVE_H
#define KLIPSIM_ITERSOLVE_SOLVE_H
/* The step search over one move (itersolve.c), as an always-inline
 * function of the kinematics' position callback.  itersolve.c
 * instantiates it calling the callback through the stepper's pointer;
 * a kinematics with a cheap callback instantiates its own copy with
 * SK_DEFINE_SOLVER, so the compiler inlines the callback into the loop.
 * Every copy runs the same floating-point operations in the same order,
 * so all produce the same step times, bit for bit (the build keeps
 * -ffp-contract=off; tests/test_motion_solver.py compares them). */
#include <math.h>
#include <stdint.h>
#include "itersolve.h"
#include "stepcompress_cursor.h"

// The search constants are Klipper's itersolve values, so that searches
// (and which grazing crossings they see) match Klipper's.
// First probe window after a range start or a direction change (s).
#define SEEK_START .000100
// Smallest probe window (s).
#define MIN_WINDOW .000000001
// Refinement stops when the position is this close to the crossing (mm)
// or the time bracket is this narrow (s).
#define POS_TOL .000000001
#define TIME_TOL .000000001
// Extra travel beyond the reverse midpoint required to accept a
// direction change (mm); keeps rounding noise at a just-solved crossing
// from reading as a reversal.
#define REVERSE_TOL .000000010
// Resource bound (klipsim's, not Klipper's): no stepper steps faster than
// MAX_STEP_RATE steps per second, averaged over one solved range, with a
// burst allowance for ranges of a few microseconds.  The fastest MCUs in
// Klipper's step-rate benchmarks (docs/Benchmarks.md) step one stepper a
// few million times a second; a faster request (a tiny rotation_distance,
// an absurd speed) would otherwise solve and queue billions of steps.
#define MAX_STEP_RATE 10000000.
#define MAX_STEP_BURST 1000.
// Returned (through sk_generate_steps) when the bound is hit: an input
// problem, not the compressor's.
#define STEP_RATE_ERROR (-2)


// The step-rate bound as a whole number of steps: a double budget
// decremented once per step first goes below zero at step floor(budget)
// + 1 (the subtractions are exact below 2^53), at the first step when it
// is negative, never when it is NaN.  (Above 2^53 the counts would differ
// only after 2^53 steps.)
static inline int64_t
step_budget(double budget)
{
    if (!(budget < 9.0e18))
        return INT64_MAX;
    return budget >= 0. ? (int64_t)budget : -1;
}

struct solve_state {
    struct sc_cursor c;  // the compressor, seen through the cursor
    int uncommitted;    // a step was appended and may still be cancelled
};

// The stepper reached its commanded position: the last step is real and
// must not be cancelled by the step+dir+step filter.
static inline int
commit_last_step(struct solve_state *s)
{
    if (!s->uncommitted)
        return 0;
    s->uncommitted = 0;
    return sc_cursor_commit(&s->c);
}

// Leave the range: the compressor gets the cursor's state back.
static inline int
leave_range(struct solve_state *s, int ret)
{
    sc_cursor_store(&s->c);
    return ret;
}

// The midpoint one step further in direction dir.  Two half-step
// additions, not one full step: the rounding then matches Klipper's
// solver, which matters when a probe lands exactly on a step position
// (does the stepper "fully reach" it and commit the step?).
static inline double
next_target(double target, int dir, double half)
{
    return dir ? target + half + half : target - half - half;
}

// A time sample of the kinematic position.
struct sample {
    double t, pos;
};

// The search follows the strategy of Klipper's step solver, so that
// grazing crossings (the position touching a midpoint and turning back,
// common with pressure advance) are seen or missed the same way:
//  - a search window [lo, hi] starts at the range start (or the last
//    step) and is 100 us long, or 1.5 x the last step interval;
//  - each guess is the secant root of the last two samples; a guess
//    outside the window bisects once a crossing is bracketed, else jumps
//    to the window end and doubles the window's distance from the last
//    step;
//  - a sample past the target midpoint brackets the crossing; a sample
//    more than a step behind it means the motion reversed: the target
//    becomes the reverse midpoint, bracketed between the last step and
//    that sample;
//  - the crossing is accepted within 1e-9 mm of the midpoint or when the
//    bracket is 1 ns wide.  The very first pair of samples is the range
//    start at the commanded position.
static inline __attribute__((always_inline)) int
sk_solve_range(struct stepper_kin *sk, struct tq_move *m, double abs_start,
               double abs_end, sk_position_fn position)
{
    double start = abs_start - m->print_time, end = abs_end - m->print_time;
    if (start < 0.)
        start = 0.;
    if (end > m->move_t)
        end = m->move_t;
    struct solve_state s;
    s.uncommitted = 1;
    sc_cursor_load(&s.c, sk->sc, m->print_time);
    double step = sk->step_dist, half = .5 * sk->step_dist;
    int dir = s.c.held.solver_dir;
    double target = sk->commanded_pos + (dir ? half : -half);
    struct sample older = {start, sk->commanded_pos}, newer = older;
    double last_step = start, lo = start, hi = start + SEEK_START;
    if (hi > end)
        hi = end;
    int bracketed = 0, reversing = 0, stalled = 0;
    int64_t steps_left = step_budget((end - start) * MAX_STEP_RATE
                                     + MAX_STEP_BURST);
    for (;;) {
        double dn = newer.pos - target, dold = older.pos - target;
        double t = (older.t * dn - newer.t * dold) / (dn - dold);
        if (!(t > lo && t < hi)) {          // also catches NaN
            if (bracketed) {
                t = .5 * (lo + hi);
                stalled = 0;
            } else if (newer.t >= end) {
                break;                      // no crossing left in range
            } else {
                t = hi;
                hi = 2. * hi - last_step;
                if (hi > end)
                    hi = end;
            }
        }
        older = newer;
        newer.t = t;
        newer.pos = position(sk, m, t);
        double d = newer.pos - target;
        if (fabs(d) > POS_TOL) {
            double ahead = dir ? d : -d;
            if (ahead > 0.) {
                if (bracketed && older.t <= lo) {
                    // the same side keeps moving: make the next guess a
                    // bisection (degenerate secant) on the second time
                    if (stalled)
                        older = newer;
                    stalled = 1;
                }
                hi = newer.t;
                bracketed = 1;
            } else if (ahead < -(step + REVERSE_TOL)) {
                dir = !dir;
                target = next_target(target, dir, half);
                lo = last_step;
                hi = newer.t;
                reversing = bracketed = 1;
                stalled = 0;
            } else {
                lo = newer.t;
            }
            if (!bracketed || hi - lo > TIME_TOL) {
                if (!reversing && ahead >= -half && commit_last_step(&s))
                    return leave_range(&s, SC_ERROR);
                continue;
            }
        }
        int ret = sc_cursor_append(&s.c, dir, newer.t);
        if (ret)
            return leave_range(&s, ret);
        if (--steps_left < 0) {
            stepcompress_fail(sk->sc, "steps faster than 10000000 per"
                              " second");
            return leave_range(&s, STEP_RATE_ERROR);
        }
        s.uncommitted = 1;
        target = next_target(target, dir, half);
        double window = 1.5 * (newer.t - last_step);
        if (window < MIN_WINDOW)
            window = MIN_WINDOW;
        if (reversing && window > SEEK_START)
            window = SEEK_START;
        last_step = lo = newer.t;
        hi = newer.t + window;
        if (hi > end)
            hi = end;
        reversing = bracketed = stalled = 0;
    }
    sc_cursor_store(&s.c);
    sk->commanded_pos = target - (dir ? half : -half);
    if (sk->post_solve)
        sk->post_solve(sk);
    return 0;
}

// Define `name` as a solver (sk_solve_fn) with `position` inlined.
#define SK_DEFINE_SOLVER(name, position)                                \
    static int                                                          \
    name(struct stepper_kin *sk, struct tq_move *m, double abs_start,   \
         double abs_end)                                                \
    {                                                                   \
        return sk_solve_range(sk, m, abs_start, abs_end, position);     \
    }

#endif
