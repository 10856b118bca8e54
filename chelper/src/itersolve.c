// Iterative step-time solver.
//
// Contract: a stepper sits at its commanded position (a multiple of
// step_dist away from where it started).  A step happens when the
// kinematic position, as computed by the kinematics' calc_position
// callback on the trapezoid queue, crosses the midpoint to the next step
// position in either direction.  generate_steps(flush_time) walks the
// moves between the previous flush time and flush_time, finds each
// crossing with a windowed secant/bisection search (see solve_move) to
// 1e-9 mm or 1 ns, and appends the step to the stepper's compressor.
// Scan windows (pre/post active) make kinematics that look around in
// time (pressure advance, input shaper) also step just before and after
// the moves that move them.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "itersolve.h"
#include "stepcompress_internal.h"

#ifdef KLIPSIM_COUNT_EVALS
long sk_eval_count;
#endif

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

void
sk_init(struct stepper_kin *sk, sk_position_fn calc_position, int active_flags)
{
    memset(sk, 0, sizeof(*sk));
    sk->calc_position = calc_position;
    sk->active_flags = active_flags;
}

struct stepper_kin *
sk_alloc(size_t size, sk_position_fn calc_position, int active_flags)
{
    struct stepper_kin *sk = calloc(1, size);
    if (sk)
        sk_init(sk, calc_position, active_flags);
    return sk;
}

void
sk_delete(struct stepper_kin *sk)
{
    if (!sk)
        return;
    if (sk->destroy)
        sk->destroy(sk);
    free(sk);
}

void
sk_set_trapq(struct stepper_kin *sk, struct trapq *tq)
{
    sk->tq = tq;
}

void
sk_set_stepcompress(struct stepper_kin *sk, struct stepcompress *sc,
                    double step_dist)
{
    sk->sc = sc;
    sk->step_dist = step_dist;
}

double
sk_calc_position_from_coord(struct stepper_kin *sk, double x, double y,
                            double z)
{
    struct tq_move m;
    memset(&m, 0, sizeof(m));
    m.start_pos.x = x;
    m.start_pos.y = y;
    m.start_pos.z = z;
    // a long stationary move, linked to itself, so kinematics that look
    // around in time stay inside it
    m.move_t = 1000.;
    m.prev = m.next = &m;
    return sk->calc_position(sk, &m, 500.);
}

void
sk_set_position(struct stepper_kin *sk, double x, double y, double z)
{
    sk->commanded_pos = sk_calc_position_from_coord(sk, x, y, z);
}

double
sk_commanded_position(struct stepper_kin *sk)
{
    return sk->commanded_pos;
}

void
sk_set_commanded_position(struct stepper_kin *sk, double pos)
{
    sk->commanded_pos = pos;
}

double
sk_calc_position_at(struct stepper_kin *sk, double print_time)
{
    struct tq_move *m = sk->tq ? trapq_find_move(sk->tq, print_time) : NULL;
    if (!m)
        return NAN;
    double t = print_time - m->print_time;
    if (t <= m->move_t)
        return sk->calc_position(sk, m, t);
    // After the newest move: evaluate on a stationary continuation of it
    // (kinematics that average over time still see the move before).
    struct tq_move rest;
    memset(&rest, 0, sizeof(rest));
    rest.print_time = m->print_time + m->move_t;
    rest.move_t = t - m->move_t + 1000.;
    rest.start_pos = tq_move_coord(m, m->move_t);
    rest.prev = m;
    rest.next = &rest;
    return sk->calc_position(sk, &rest, t - m->move_t);
}

int
sk_active_flags(struct stepper_kin *sk)
{
    return sk->active_flags;
}

double
sk_pre_active(struct stepper_kin *sk)
{
    return sk->pre_active;
}

double
sk_post_active(struct stepper_kin *sk)
{
    return sk->post_active;
}

double
sk_last_flush_time(struct stepper_kin *sk)
{
    return sk->last_flush_time;
}

/****************************************************************
 * Solving one move
 ****************************************************************/

struct solve_state {
    struct stepper_kin *sk;
    struct tq_move *m;
    double half;        // half a step
    int uncommitted;    // a step was appended and may still be cancelled
};

static inline double
position(struct solve_state *s, double t)
{
#ifdef KLIPSIM_COUNT_EVALS
    sk_eval_count++;
#endif
    return s->sk->calc_position(s->sk, s->m, t);
}

// The stepper reached its commanded position: the last step is real and
// must not be cancelled by the step+dir+step filter.
static inline int
commit_last_step(struct solve_state *s)
{
    if (!s->uncommitted)
        return 0;
    s->uncommitted = 0;
    return stepcompress_commit(s->sk->sc);
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
static int
solve_move(struct stepper_kin *sk, struct tq_move *m, double abs_start,
           double abs_end)
{
    double start = abs_start - m->print_time, end = abs_end - m->print_time;
    if (start < 0.)
        start = 0.;
    if (end > m->move_t)
        end = m->move_t;
    struct solve_state s = {sk, m, .5 * sk->step_dist, 1};
    double step = sk->step_dist;
    int dir = stepcompress_step_dir(sk->sc);
    double target = sk->commanded_pos + (dir ? s.half : -s.half);
    struct sample older = {start, sk->commanded_pos}, newer = older;
    double last_step = start, lo = start, hi = start + SEEK_START;
    if (hi > end)
        hi = end;
    int bracketed = 0, reversing = 0, stalled = 0;
    double steps_left = (end - start) * MAX_STEP_RATE + MAX_STEP_BURST;
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
        newer.pos = position(&s, t);
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
                target = next_target(target, dir, s.half);
                lo = last_step;
                hi = newer.t;
                reversing = bracketed = 1;
                stalled = 0;
            } else {
                lo = newer.t;
            }
            if (!bracketed || hi - lo > TIME_TOL) {
                if (!reversing && ahead >= -s.half && commit_last_step(&s))
                    return SC_ERROR;
                continue;
            }
        }
        int ret = stepcompress_append_inline(sk->sc, dir, m->print_time,
                                             newer.t);
        if (ret)
            return ret;
        if (--steps_left < 0.) {
            stepcompress_fail(sk->sc, "steps faster than 10000000 per"
                              " second");
            return STEP_RATE_ERROR;
        }
        s.uncommitted = 1;
        target = next_target(target, dir, s.half);
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
    sk->commanded_pos = target - (dir ? s.half : -s.half);
    if (sk->post_solve)
        sk->post_solve(sk);
    return 0;
}

/****************************************************************
 * Walking the queue
 ****************************************************************/

static inline int
moves_stepper(const struct stepper_kin *sk, const struct tq_move *m)
{
    int af = sk->active_flags;
    return ((af & AF_X) && m->axes_r.x != 0.)
        || ((af & AF_Y) && m->axes_r.y != 0.)
        || ((af & AF_Z) && m->axes_r.z != 0.);
}

static struct tq_move *
first_move_after(struct stepper_kin *sk, double print_time)
{
    struct tq_move *m = trapq_first_live(sk->tq);
    while (print_time >= m->print_time + m->move_t)
        m = m->next;
    return m;
}

double
sk_check_active(struct stepper_kin *sk, double flush_time)
{
    if (!sk->tq)
        return 0.;
    struct tq_move *m = first_move_after(sk, sk->last_flush_time);
    for (;;) {
        if (moves_stepper(sk, m))
            return m->print_time;
        if (flush_time <= m->print_time + m->move_t)
            return 0.;
        m = m->next;
    }
}

// Solve the inactive moves just before an active move `m` that fall in
// its pre-active scan window (kinematics that look ahead in time).
static int
solve_lead_in(struct stepper_kin *sk, struct tq_move *m, int idle_moves,
              double from, double flush_time)
{
    struct tq_move *pm = m->prev;
    while (--idle_moves && pm->print_time > from)
        pm = pm->prev;
    for (; pm != m; pm = pm->next) {
        int ret = solve_move(sk, pm, from, flush_time);
        if (ret)
            return ret;
    }
    return 0;
}

int
sk_generate_steps(struct stepper_kin *sk, double flush_time)
{
    double last_flush = sk->last_flush_time;
    sk->last_flush_time = flush_time;
    if (!sk->tq || !sk->sc)
        return 0;
    stepcompress_note_generated(sk->sc, flush_time);
    struct tq_move *m = first_move_after(sk, last_flush);
    // steps keep coming until post_active after the last active move
    double trail_until = sk->last_move_time + sk->post_active;
    int idle_moves = 0;
    for (;;) {
        double ms = m->print_time, me = ms + m->move_t;
        int ret;
        if (moves_stepper(sk, m)) {
            if (idle_moves && sk->pre_active) {
                double from = ms - sk->pre_active;
                if (from < last_flush)
                    from = last_flush;
                if (from < trail_until)
                    from = trail_until;
                ret = solve_lead_in(sk, m, idle_moves, from, flush_time);
                if (ret)
                    return ret;
            }
            ret = solve_move(sk, m, last_flush, flush_time);
            if (ret)
                return ret;
            if (me >= flush_time) {
                sk->last_move_time = flush_time;
                return 0;
            }
            idle_moves = 0;
            sk->last_move_time = me;
            trail_until = me + sk->post_active;
        } else if (ms < trail_until) {
            double until = trail_until < flush_time ? trail_until : flush_time;
            ret = solve_move(sk, m, last_flush, until);
            if (ret)
                return ret;
            idle_moves = 1;
        } else {
            idle_moves++;
        }
        if (flush_time + sk->pre_active <= me)
            return 0;
        m = m->next;
    }
}
