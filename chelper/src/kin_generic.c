// Stepper positions for generic_cartesian kinematics and dual carriages.
//
//   generic_cartesian: a_x * x + a_y * y + a_z * z, the stepper's
//       `carriages:` expression (docs/Config_Reference.md, e.g.
//       carriage_x-carriage_y is (1, -1, 0)); a stepper depends on an axis
//       exactly when its coefficient there is non-zero.
//   dual carriage: wraps another stepper's kinematics and hands it
//       x' = x * x_scale + x_offset (and the same for y): scale 1 follows
//       the toolhead (PRIMARY, COPY), -1 mirrors it (MIRROR), 0 parks the
//       carriage at `offset` (inactive: the axis no longer moves it).
#include <stdlib.h>
#include "kin_generic.h"

struct generic_stepper {
    struct stepper_kin sk;
    double a_x, a_y, a_z;
};

static double
generic_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct generic_stepper *gs = (struct generic_stepper *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    return gs->a_x * c.x + gs->a_y * c.y + gs->a_z * c.z;
}

void
generic_cartesian_set_coeffs(struct stepper_kin *sk, double a_x, double a_y,
                             double a_z)
{
    struct generic_stepper *gs = (struct generic_stepper *)sk;
    gs->a_x = a_x;
    gs->a_y = a_y;
    gs->a_z = a_z;
    sk->active_flags = (a_x ? AF_X : 0) | (a_y ? AF_Y : 0) | (a_z ? AF_Z : 0);
}

struct stepper_kin *
generic_cartesian_stepper_new(double a_x, double a_y, double a_z)
{
    struct stepper_kin *sk = sk_alloc(sizeof(struct generic_stepper),
                                      generic_position, 0);
    if (sk)
        generic_cartesian_set_coeffs(sk, a_x, a_y, a_z);
    return sk;
}

struct dual_carriage {
    struct stepper_kin sk;
    struct stepper_kin *orig;
    double x_scale, x_offset, y_scale, y_offset;
    struct tq_move scratch;     // a standing move at the transformed point
};

static double
dual_carriage_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct dual_carriage *dc = (struct dual_carriage *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    c.x = c.x * dc->x_scale + dc->x_offset;
    c.y = c.y * dc->y_scale + dc->y_offset;
    dc->scratch.start_pos = c;
    return dc->orig->calc_position(dc->orig, &dc->scratch, 0.);
}

struct stepper_kin *
dual_carriage_stepper_new(struct stepper_kin *orig)
{
    struct dual_carriage *dc = (struct dual_carriage *)sk_alloc(
        sizeof(*dc), dual_carriage_position, orig->active_flags);
    if (!dc)
        return NULL;
    dc->orig = orig;
    dc->x_scale = dc->y_scale = 1.;
    dc->sk.pre_active = orig->pre_active;
    dc->sk.post_active = orig->post_active;
    return &dc->sk;
}

int
dual_carriage_set_transform(struct stepper_kin *sk, char axis, double scale,
                            double offset)
{
    struct dual_carriage *dc = (struct dual_carriage *)sk;
    int flag;
    if (axis == 'x') {
        dc->x_scale = scale;
        dc->x_offset = offset;
        flag = AF_X;
    } else if (axis == 'y') {
        dc->y_scale = scale;
        dc->y_offset = offset;
        flag = AF_Y;
    } else {
        return -1;
    }
    if (!scale)
        sk->active_flags &= ~flag;
    else if (dc->orig->active_flags & flag)
        sk->active_flags |= flag;
    return 0;
}
