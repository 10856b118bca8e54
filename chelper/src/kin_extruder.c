// Extruder stepper kinematics with smoothed pressure advance.
//
// Contract: the extruder has its own trapezoid queue whose x coordinate
// is the filament position (mm) and whose axes_r.y is non-zero on moves
// where pressure advance applies (Klipper's convention).  Without
// smoothing the stepper position is x.  With a smooth time T the position
// is the weighted average of the advanced position
//     x(t) + pressure_advance * v(t)      (v only on eligible moves)
// over [t - T/2, t + T/2] with a triangular weight (h - |tau - t|) / h^2,
// h = T/2 (docs/Kinematics.md "smoothed pressure advance"; the
// triangular weighting was checked against Klipper's pa_basic output).
// The window spans neighbouring moves; before the first and after the
// last queued move the filament is taken as stationary.  The scan
// windows (pre/post active) are h.
//
// Pressure advance changes are keyed by print time: a move uses the
// latest value set for a time at or before its start (the 16 newest
// changes are kept).  The smooth time applies at once to every position.
#include <stdlib.h>
#include <string.h>
#include "kin_extruder.h"
#include "itersolve_solve.h"

#define MAX_PA_CHANGES 16

struct pa_change {
    double print_time, pressure_advance;
};

struct extruder_stepper {
    struct stepper_kin sk;
    double half_smooth_time, inv_half_smooth_time2;
    struct pa_change changes[MAX_PA_CHANGES];
    int nchanges;
};

static double
pa_for_move(struct extruder_stepper *es, const struct tq_move *m)
{
    if (m->axes_r.y == 0.)
        return 0.;
    double pa = 0.;
    for (int i = 0; i < es->nchanges; i++)
        if (es->changes[i].print_time <= m->print_time)
            pa = es->changes[i].pressure_advance;
    return pa;
}

// One piece of the window: the advanced position on [a, b] (move-local
// times) is c0 + c1*tau + c2*tau^2.  Returns the integral of position
// times the weight (tau - pivot) * dir: dir = +1 left of the window
// centre (pivot = window start), -1 right of it (pivot = window end).
static double
weighted_piece(double c0, double c1, double c2, double a, double b,
               double pivot, double dir)
{
    if (!(a < b))
        return 0.;
    double a2 = a * a, b2 = b * b;
    double d1 = b - a, d2 = (b2 - a2) * .5, d3 = (b2 * b - a2 * a) / 3.;
    double d4 = (b2 * b2 - a2 * a2) * .25;
    double i0 = c0 * d1 + c1 * d2 + c2 * d3;    // integral of position
    double i1 = c0 * d2 + c1 * d3 + c2 * d4;    // integral of position*tau
    return dir * (i1 - pivot * i0);
}

// Weighted integral over [a, b] of move m, positions relative to `ref`.
static double
move_piece(struct extruder_stepper *es, const struct tq_move *m, double ref,
           double a, double b, double pivot, double dir)
{
    double pa = pa_for_move(es, m), r = m->axes_r.x;
    double c0 = m->start_pos.x - ref + pa * r * m->start_v;
    double c1 = r * (m->start_v + 2. * pa * m->half_accel);
    return weighted_piece(c0, c1, r * m->half_accel, a, b, pivot, dir);
}

static int
is_sentinel(const struct tq_move *m)
{
    return !m->prev || !m->next;
}

// The filament position without smoothing.
static inline double
plain_position(const struct tq_move *m, double t)
{
    return m->start_pos.x + tq_move_distance(m, t);
}

static __attribute__((noinline)) double
smoothed_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct extruder_stepper *es = (struct extruder_stepper *)sk;
    double h = es->half_smooth_time;
    if (!h)
        return plain_position(m, t);
    double ref = m->start_pos.x;
    double lo = t - h, hi = t + h;
    double area = move_piece(es, m, ref, lo > 0. ? lo : 0., t, lo, 1.)
        + move_piece(es, m, ref, t, hi < m->move_t ? hi : m->move_t, hi, -1.);
    // earlier moves (times shifted into each move's own frame)
    const struct tq_move *p = m;
    double shift = 0.;
    while (lo + shift < 0.) {
        if (is_sentinel(p->prev)) {
            // stationary before the first known move
            double c0 = p->start_pos.x - ref;
            area += weighted_piece(c0, 0., 0., lo + shift, 0., lo + shift, 1.);
            break;
        }
        p = p->prev;
        shift += p->move_t;
        area += move_piece(es, p, ref, lo + shift > 0. ? lo + shift : 0.,
                           p->move_t, lo + shift, 1.);
    }
    // later moves
    const struct tq_move *n = m;
    double back = 0.;       // start of n in m's frame
    while (hi - back > n->move_t) {
        if (is_sentinel(n->next)) {
            double end = tq_move_coord(n, n->move_t).x - ref;
            double from = n->move_t;
            area += weighted_piece(end, 0., 0., from, hi - back, hi - back, -1.);
            break;
        }
        back += n->move_t;
        n = n->next;
        double r = hi - back;
        area += move_piece(es, n, ref, 0., r < n->move_t ? r : n->move_t, r,
                           -1.);
    }
    return ref + area * es->inv_half_smooth_time2;
}

// The position the solver samples, with the unsmoothed case inlined
// into its loop (the same operations as smoothed_position's).
static inline double
extruder_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct extruder_stepper *es = (struct extruder_stepper *)sk;
    if (!es->half_smooth_time)
        return plain_position(m, t);
    return smoothed_position(sk, m, t);
}

SK_DEFINE_SOLVER(solve_extruder, extruder_position)

struct stepper_kin *
extruder_stepper_new(void)
{
    struct extruder_stepper *es = calloc(1, sizeof(*es));
    if (!es)
        return NULL;
    sk_init(&es->sk, smoothed_position, AF_X);
    es->sk.solve = solve_extruder;
    return &es->sk;
}

int
extruder_set_pressure_advance(struct stepper_kin *sk, double print_time,
                              double pressure_advance, double smooth_time)
{
    struct extruder_stepper *es = (struct extruder_stepper *)sk;
    double h = .5 * smooth_time;
    es->half_smooth_time = h;
    es->inv_half_smooth_time2 = h ? 1. / (h * h) : 0.;
    sk->pre_active = sk->post_active = h;
    if (es->nchanges
        && es->changes[es->nchanges - 1].pressure_advance == pressure_advance)
        return 0;           // unchanged: keep the earlier activation time
    if (es->nchanges == MAX_PA_CHANGES) {
        // drop the oldest change that is superseded for every move
        memmove(es->changes, es->changes + 1,
                (MAX_PA_CHANGES - 1) * sizeof(es->changes[0]));
        es->nchanges--;
    }
    es->changes[es->nchanges].print_time = print_time;
    es->changes[es->nchanges].pressure_advance = pressure_advance;
    es->nchanges++;
    return 0;
}
