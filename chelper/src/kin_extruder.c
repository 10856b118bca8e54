// Extruder stepper kinematics.
//
// Contract: the extruder has its own trapezoid queue whose x coordinate
// is the filament position (mm); the stepper position is that x.
// Pressure advance is not implemented yet: setting a non-zero advance
// is refused (returns -1) so a caller cannot silently get plain steps.
#include <stdlib.h>
#include "kin_extruder.h"

struct extruder_stepper {
    struct stepper_kin sk;
    double pressure_advance, smooth_time;
};

static double
extruder_position(struct stepper_kin *sk, struct tq_move *m, double t)
{
    return tq_move_coord(m, t).x;
}

struct stepper_kin *
extruder_stepper_new(void)
{
    struct extruder_stepper *es = calloc(1, sizeof(*es));
    if (!es)
        return NULL;
    sk_init(&es->sk, extruder_position, AF_X);
    return &es->sk;
}

int
extruder_set_pressure_advance(struct stepper_kin *sk, double pa,
                              double smooth_time)
{
    struct extruder_stepper *es = (struct extruder_stepper *)sk;
    es->pressure_advance = pa;
    es->smooth_time = smooth_time;
    return pa != 0. ? -1 : 0;
}
