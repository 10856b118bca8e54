#ifndef KLIPSIM_KIN_BASIC_H
#define KLIPSIM_KIN_BASIC_H
/* Position callbacks for cartesian, corexy and linear delta steppers.
 * See kin_basic.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *cartesian_stepper_new(char axis);
struct stepper_kin *corexy_stepper_new(char type);
struct stepper_kin *delta_stepper_new(double arm2, double tower_x,
                                      double tower_y);
/* cffi:end */

#endif
