#ifndef KLIPSIM_KIN_EXTRA_H
#define KLIPSIM_KIN_EXTRA_H
/* Position callbacks for corexz, polar, cable winch, deltesian and rotary
 * delta steppers.  See kin_extra.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *corexz_stepper_new(char type);
struct stepper_kin *polar_stepper_new(char type);
struct stepper_kin *winch_stepper_new(double anchor_x, double anchor_y,
                                      double anchor_z);
struct stepper_kin *deltesian_stepper_new(double arm2, double arm_x);
struct stepper_kin *rotary_delta_stepper_new(double shoulder_radius,
                                             double shoulder_height,
                                             double angle, double upper_arm,
                                             double lower_arm);
/* cffi:end */

#endif
