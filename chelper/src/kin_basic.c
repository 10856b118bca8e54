// Stepper position callbacks for the simple kinematics.
//
// Contract: each constructor returns a stepper_kin whose calc_position
// gives the stepper's position (mm of its own travel) for a toolhead
// position on a trapezoid move, and whose active flags name the toolhead
// axes that move it.  Returns NULL for an unknown axis/type.
//   cartesian 'x'|'y'|'z': that coordinate
//   corexy '+': x + y, '-': x - y
//   delta tower at (tx, ty), arm2 = arm_length^2:
//       z + sqrt(arm2 - (tx - x)^2 - (ty - y)^2)
#include <math.h>
#include <stdlib.h>
#include "kin_basic.h"
#include "itersolve_solve.h"

static double
cartesian_x(struct stepper_kin *sk, struct tq_move *m, double t)
{
    return tq_move_coord(m, t).x;
}

static double
cartesian_y(struct stepper_kin *sk, struct tq_move *m, double t)
{
    return tq_move_coord(m, t).y;
}

static double
cartesian_z(struct stepper_kin *sk, struct tq_move *m, double t)
{
    return tq_move_coord(m, t).z;
}

// The solvers of the cheap callbacks, with the callback inlined.
SK_DEFINE_SOLVER(solve_cartesian_x, cartesian_x)
SK_DEFINE_SOLVER(solve_cartesian_y, cartesian_y)
SK_DEFINE_SOLVER(solve_cartesian_z, cartesian_z)

static struct stepper_kin *
new_stepper(sk_position_fn fn, sk_solve_fn solve, int active_flags)
{
    struct stepper_kin *sk = sk_alloc(sizeof(struct stepper_kin), fn,
                                      active_flags);
    if (sk)
        sk->solve = solve;
    return sk;
}

struct stepper_kin *
cartesian_stepper_new(char axis)
{
    switch (axis) {
    case 'x': return new_stepper(cartesian_x, solve_cartesian_x, AF_X);
    case 'y': return new_stepper(cartesian_y, solve_cartesian_y, AF_Y);
    case 'z': return new_stepper(cartesian_z, solve_cartesian_z, AF_Z);
    }
    return NULL;
}

static double
corexy_plus(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    return c.x + c.y;
}

static double
corexy_minus(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct tq_coord c = tq_move_coord(m, t);
    return c.x - c.y;
}

SK_DEFINE_SOLVER(solve_corexy_plus, corexy_plus)
SK_DEFINE_SOLVER(solve_corexy_minus, corexy_minus)

struct stepper_kin *
corexy_stepper_new(char type)
{
    switch (type) {
    case '+': return new_stepper(corexy_plus, solve_corexy_plus, AF_X | AF_Y);
    case '-': return new_stepper(corexy_minus, solve_corexy_minus, AF_X | AF_Y);
    }
    return NULL;
}

struct delta_stepper {
    struct stepper_kin sk;
    double arm2, tower_x, tower_y;
};

static double
delta_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    struct delta_stepper *ds = (struct delta_stepper *)sk;
    struct tq_coord c = tq_move_coord(m, t);
    double dx = ds->tower_x - c.x, dy = ds->tower_y - c.y;
    return c.z + sqrt(ds->arm2 - dx * dx - dy * dy);
}

struct stepper_kin *
delta_stepper_new(double arm2, double tower_x, double tower_y)
{
    struct delta_stepper *ds = malloc(sizeof(*ds));
    if (!ds)
        return NULL;
    sk_init(&ds->sk, delta_position, AF_X | AF_Y | AF_Z);
    ds->arm2 = arm2;
    ds->tower_x = tower_x;
    ds->tower_y = tower_y;
    return &ds->sk;
}
