#ifndef KLIPSIM_KIN_EXTRUDER_H
#define KLIPSIM_KIN_EXTRUDER_H
/* Extruder stepper kinematics with smoothed pressure advance.
 * See kin_extruder.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *extruder_stepper_new(void);
int extruder_set_pressure_advance(struct stepper_kin *sk, double print_time,
                                  double pressure_advance,
                                  double smooth_time);
/* cffi:end */

#endif
