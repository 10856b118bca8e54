#ifndef KLIPSIM_KIN_EXTRUDER_H
#define KLIPSIM_KIN_EXTRUDER_H
/* Extruder stepper kinematics.  See kin_extruder.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *extruder_stepper_new(void);
int extruder_set_pressure_advance(struct stepper_kin *sk, double pa,
                                  double smooth_time);
/* cffi:end */

#endif
