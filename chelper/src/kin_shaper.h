#ifndef KLIPSIM_KIN_SHAPER_H
#define KLIPSIM_KIN_SHAPER_H
/* Input shaping as a wrapper around x/y stepper kinematics.
 * See kin_shaper.c. */
#include "itersolve.h"

/* cffi:begin */
struct stepper_kin *input_shaper_new(struct stepper_kin *orig);
int input_shaper_set_pulses(struct stepper_kin *sk, char axis, int n,
                            double *amplitudes, double *times);
int input_shaper_get_pulses(struct stepper_kin *sk, char axis,
                            double *amplitudes, double *offsets);
/* cffi:end */

#define SHAPER_MAX_PULSES 5

#endif
