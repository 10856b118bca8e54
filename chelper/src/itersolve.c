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
#include "itersolve_solve.h"

static int solve_move(struct stepper_kin *sk, struct tq_move *m,
                      double abs_start, double abs_end);

void
sk_init(struct stepper_kin *sk, sk_position_fn calc_position, int active_flags)
{
    memset(sk, 0, sizeof(*sk));
    sk->calc_position = calc_position;
    sk->active_flags = active_flags;
    sk->solve = solve_move;
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

// The solver with the kinematics' position callback called through its
// pointer: for every kinematics without a specialised solver (see
// SK_DEFINE_SOLVER in itersolve_solve.h), and the reference the
// specialised ones are tested against (sk_use_generic_solver).
static int
solve_move(struct stepper_kin *sk, struct tq_move *m, double abs_start,
           double abs_end)
{
    return sk_solve_range(sk, m, abs_start, abs_end, sk->calc_position);
}

void
sk_use_generic_solver(struct stepper_kin *sk)
{
    sk->solve = solve_move;
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
        int ret = sk->solve(sk, pm, from, flush_time);
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
            ret = sk->solve(sk, m, last_flush, flush_time);
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
            ret = sk->solve(sk, m, last_flush, until);
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
