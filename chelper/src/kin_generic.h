#ifndef KLIPSIM_KIN_GENERIC_H
#define KLIPSIM_KIN_GENERIC_H
/* generic_cartesian steppers (a linear combination of carriage axes) and
 * the dual-carriage transform wrapper.  See kin_generic.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *generic_cartesian_stepper_new(double a_x, double a_y,
                                                  double a_z);
void generic_cartesian_set_coeffs(struct stepper_kin *sk, double a_x,
                                  double a_y, double a_z);
struct stepper_kin *dual_carriage_stepper_new(struct stepper_kin *orig);
int dual_carriage_set_transform(struct stepper_kin *sk, char axis,
                                double scale, double offset);
/* cffi:end */

#endif
