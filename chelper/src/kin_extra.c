// Stepper position callbacks for the less common kinematics.
//
// Contract: like kin_basic.c, each constructor returns a stepper_kin (or
// NULL for an unknown type) whose calc_position maps a toolhead position
// to the stepper's own position, with the toolhead axes it depends on as
// active flags.  Formulas (geometry as in Klipper's docs/Kinematics.md
// and config reference):
//   corexz '+': x + z, '-': x - z
//   polar 'r': sqrt(x^2 + y^2) (arm); 'a': atan2(y, x) in radians (bed),
//       taken within pi of the commanded angle so the bed can turn past
//       +-pi, and the commanded angle wrapped back into [-pi, pi] after
//       each solved range (a full turn is a whole number of steps)
//   winch: distance from the anchor (cable length)
//   deltesian: z + sqrt(arm2 - (x - arm_x)^2) (arm in the XZ plane)
//   rotary delta: angle (radians) of the upper arm of the tower at
//       `angle` around z, shoulder at shoulder_radius/shoulder_height
//       (see rotary_delta_position)
#include <math.h>
#include <stdlib.h>
#include "kin_extra.h"

static double
corexz_plus(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    return c.x + c.z;
}

static double
corexz_minus(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    return c.x - c.z;
}

struct stepper_kin *
corexz_stepper_new(char type)
{
    switch (type) {
    case '+': return sk_alloc(sizeof(struct stepper_kin), corexz_plus,
                                 AF_X | AF_Z);
    case '-': return sk_alloc(sizeof(struct stepper_kin), corexz_minus,
                                 AF_X | AF_Z);
    }
    return NULL;
}

static double
polar_radius(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    return sqrt(c.x * c.x + c.y * c.y);
}

static double
polar_angle(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    double angle = atan2(c.y, c.x);
    // continue from the commanded angle instead of jumping at +-pi
    if (angle - sk->commanded_pos > M_PI)
        angle -= 2. * M_PI;
    else if (angle - sk->commanded_pos < -M_PI)
        angle += 2. * M_PI;
    return angle;
}

static void
polar_angle_wrap(struct stepper_kin *sk)
{
    if (sk->commanded_pos < -M_PI)
        sk->commanded_pos += 2. * M_PI;
    else if (sk->commanded_pos > M_PI)
        sk->commanded_pos -= 2. * M_PI;
}

struct stepper_kin *
polar_stepper_new(char type)
{
    struct stepper_kin *sk;
    switch (type) {
    case 'r':
        return sk_alloc(sizeof(*sk), polar_radius, AF_X | AF_Y);
    case 'a':
        sk = sk_alloc(sizeof(*sk), polar_angle, AF_X | AF_Y);
        if (sk)
            sk->post_solve = polar_angle_wrap;
        return sk;
    }
    return NULL;
}

struct winch_stepper {
    struct stepper_kin sk;
    struct tq_coord anchor;
};

static double
winch_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct winch_stepper *ws = (struct winch_stepper *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    double dx = ws->anchor.x - c.x, dy = ws->anchor.y - c.y;
    double dz = ws->anchor.z - c.z;
    return sqrt(dx * dx + dy * dy + dz * dz);
}

struct stepper_kin *
winch_stepper_new(double anchor_x, double anchor_y, double anchor_z)
{
    struct winch_stepper *ws = (struct winch_stepper *)sk_alloc(
        sizeof(*ws), winch_position, AF_X | AF_Y | AF_Z);
    if (ws) {
        ws->anchor.x = anchor_x;
        ws->anchor.y = anchor_y;
        ws->anchor.z = anchor_z;
    }
    return &ws->sk;
}

struct deltesian_stepper {
    struct stepper_kin sk;
    double arm2, arm_x;
};

static double
deltesian_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct deltesian_stepper *ds = (struct deltesian_stepper *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    double dx = c.x - ds->arm_x;
    return sqrt(ds->arm2 - dx * dx) + c.z;
}

struct stepper_kin *
deltesian_stepper_new(double arm2, double arm_x)
{
    struct deltesian_stepper *ds = (struct deltesian_stepper *)sk_alloc(
        sizeof(*ds), deltesian_position, AF_X | AF_Z);
    if (ds) {
        ds->arm2 = arm2;
        ds->arm_x = arm_x;
    }
    return &ds->sk;
}

struct rotary_delta_stepper {
    struct stepper_kin sk;
    double cos_a, sin_a, shoulder_radius, shoulder_height;
    double upper2, lower2;
};

// In the tower's frame the upper arm swings in a vertical plane: u runs
// outward from the shoulder joint along the tower direction, v up from
// the shoulder height, w sideways.  The elbow E = upper*(cos phi, sin phi)
// is where the circle of the upper arm meets the circle of the lower arm
// projected into that plane (radius^2 = lower^2 - w^2) around the
// effector (u, v); of the two intersections the outer one (larger u) is
// the arm's.  Returns phi (radians).
static double
rotary_delta_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct rotary_delta_stepper *rs = (struct rotary_delta_stepper *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    double u = c.x * rs->cos_a + c.y * rs->sin_a - rs->shoulder_radius;
    double v = c.z - rs->shoulder_height;
    double w = c.y * rs->cos_a - c.x * rs->sin_a;
    double lower2 = rs->lower2 - w * w;
    // Points E with |E|^2 = upper2 and |E - P|^2 = lower2 satisfy the line
    // u*Ex + v*Ey = k, k = (|P|^2 + upper2 - lower2) / 2.
    double d2 = u * u + v * v;
    double k = .5 * (d2 + rs->upper2 - lower2);
    // foot of the perpendicular from the origin to that line, and the
    // half-chord length along it
    double foot_u = k * u / d2, foot_v = k * v / d2;
    double half = sqrt((rs->upper2 - k * k / d2) / d2);
    // chord direction (-v, u) scaled by half; take the larger-u end
    double eu = foot_u - half * v, ev = foot_v + half * u;
    double eu2 = foot_u + half * v, ev2 = foot_v - half * u;
    if (eu2 > eu) {
        eu = eu2;
        ev = ev2;
    }
    return atan2(ev, eu);
}

struct stepper_kin *
rotary_delta_stepper_new(double shoulder_radius, double shoulder_height,
                         double angle, double upper_arm, double lower_arm)
{
    struct rotary_delta_stepper *rs = (struct rotary_delta_stepper *)
        sk_alloc(sizeof(*rs), rotary_delta_position, AF_X | AF_Y | AF_Z);
    if (rs) {
        rs->cos_a = cos(angle);
        rs->sin_a = sin(angle);
        rs->shoulder_radius = shoulder_radius;
        rs->shoulder_height = shoulder_height;
        rs->upper2 = upper_arm * upper_arm;
        rs->lower2 = lower_arm * lower_arm;
    }
    return &rs->sk;
}
