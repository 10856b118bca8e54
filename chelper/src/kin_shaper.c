// Input shaping: a stepper kinematics that wraps another one and feeds it
// shaped x and y coordinates.
//
// Contract: a shaper is a list of pulses (amplitude A_i >= 0, time T_i);
// the shaped coordinate is
//     x_s(t) = sum_i a_i * x(t + t_i),  a_i = A_i / sum(A),
//     t_i = c - T_i,  c = sum(A_i T_i) / sum(A)  (the pulses' centroid),
// so the shaper adds no net delay and a stationary axis stays where it is.
// Pulses are stored in ascending t_i.  An axis the wrapped kinematics does
// not depend on is left unshaped.  The scan windows are how far the pulses
// reach ahead (pre-active: max t_i) and behind (post-active: max -t_i).
// Before the first queued move the axis is taken as stationary at that
// move's start; after the last, the trapq's tail is stationary.
#include <stdlib.h>
#include <string.h>
#include "kin_shaper.h"

struct shaper_pulses {
    int n;
    double a[SHAPER_MAX_PULSES], t[SHAPER_MAX_PULSES];
};

struct input_shaper {
    struct stepper_kin sk;
    struct stepper_kin *orig;
    struct shaper_pulses x, y;
    struct tq_move scratch;
};

static inline double
axis_of(const struct tq_coord *c, int axis)
{
    return axis == 'x' ? c->x : c->y;
}

// Coordinate of one axis at move time t, walking to neighbouring moves
// when t falls outside m.
static double
axis_position(const struct tq_move *m, int axis, double t)
{
    while (t < 0.) {
        if (!m->prev || !m->prev->prev) {
            t = 0.;         // m is the first queued move
            break;
        }
        m = m->prev;
        t += m->move_t;
    }
    while (t > m->move_t) {
        if (!m->next) {
            t = m->move_t;
            break;
        }
        t -= m->move_t;
        m = m->next;
    }
    return axis_of(&m->start_pos, axis)
        + axis_of(&m->axes_r, axis) * tq_move_distance(m, t);
}

static double
shaped_axis(const struct shaper_pulses *p, const struct tq_move *m, int axis,
            double t)
{
    double res = 0.;
    for (int i = 0; i < p->n; i++)
        res += p->a[i] * axis_position(m, axis, t + p->t[i]);
    return res;
}

static double
shaped_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct input_shaper *is = (struct input_shaper *)sk;
    if (!is->x.n && !is->y.n)
        return is->orig->calc_position(is->orig, m, t);
    is->scratch = *m;
    if (is->x.n) {
        is->scratch.start_pos.x = shaped_axis(&is->x, m, 'x', t);
        is->scratch.axes_r.x = 0.;
    }
    if (is->y.n) {
        is->scratch.start_pos.y = shaped_axis(&is->y, m, 'y', t);
        is->scratch.axes_r.y = 0.;
    }
    return is->orig->calc_position(is->orig, &is->scratch, t);
}

static void
update_scan_windows(struct input_shaper *is)
{
    double ahead = 0., behind = 0.;
    struct shaper_pulses *ps[2] = {&is->x, &is->y};
    for (int k = 0; k < 2; k++) {
        struct shaper_pulses *p = ps[k];
        if (!p->n)
            continue;
        if (p->t[p->n - 1] > ahead)
            ahead = p->t[p->n - 1];
        if (-p->t[0] > behind)
            behind = -p->t[0];
    }
    is->sk.pre_active = ahead;
    is->sk.post_active = behind;
}

struct stepper_kin *
input_shaper_new(struct stepper_kin *orig)
{
    struct input_shaper *is = calloc(1, sizeof(*is));
    if (!is)
        return NULL;
    sk_init(&is->sk, shaped_position, orig->active_flags);
    is->orig = orig;
    return &is->sk;
}

int
input_shaper_set_pulses(struct stepper_kin *sk, char axis, int n,
                        double *amplitudes, double *times)
{
    struct input_shaper *is = (struct input_shaper *)sk;
    if ((axis != 'x' && axis != 'y') || n < 0 || n > SHAPER_MAX_PULSES)
        return -1;
    struct shaper_pulses *p = axis == 'x' ? &is->x : &is->y;
    int flag = axis == 'x' ? AF_X : AF_Y;
    double sum_a = 0.;
    for (int i = 0; i < n; i++) {
        if (amplitudes[i] < 0.)
            return -1;
        sum_a += amplitudes[i];
    }
    if (n && !(sum_a > 0.))
        return -1;
    p->n = (is->orig->active_flags & flag) ? n : 0;
    // pulse i (ascending offset) is input pulse n-1-i (Klipper's ordering
    // of shaper definitions has ascending T).  Same arithmetic as
    // Klipper's shaper setup (multiply by the reciprocal of the sum, then
    // shift by the weighted mean offset summed in pulse order), so the
    // rounding of the offsets matches.
    double inv_a = 1. / sum_a, mean = 0.;
    for (int i = 0; i < p->n; i++) {
        p->a[i] = amplitudes[n - 1 - i] * inv_a;
        p->t[i] = -times[n - 1 - i];
        mean += p->a[i] * p->t[i];
    }
    for (int i = 0; i < p->n; i++)
        p->t[i] -= mean;
    // keep offsets ascending whatever order the definition used
    for (int i = 1; i < p->n; i++)
        for (int j = i; j > 0 && p->t[j - 1] > p->t[j]; j--) {
            double ta = p->t[j], aa = p->a[j];
            p->t[j] = p->t[j - 1];
            p->a[j] = p->a[j - 1];
            p->t[j - 1] = ta;
            p->a[j - 1] = aa;
        }
    update_scan_windows(is);
    return 0;
}

int
input_shaper_get_pulses(struct stepper_kin *sk, char axis,
                        double *amplitudes, double *offsets)
{
    struct input_shaper *is = (struct input_shaper *)sk;
    struct shaper_pulses *p = axis == 'x' ? &is->x : &is->y;
    for (int i = 0; i < p->n; i++) {
        amplitudes[i] = p->a[i];
        offsets[i] = p->t[i];
    }
    return p->n;
}
