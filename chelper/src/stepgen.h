// Step generation of several steppers in one call.  See stepgen.c.
#ifndef KLIPSIM_STEPGEN_H
#define KLIPSIM_STEPGEN_H

struct stepper_kin;     /* declared for cffi in itersolve.h */

/* cffi:begin */
/* sk_generate_steps(sks[i], flush_time) for i = 0..n-1 in order, stopping
 * at the first that fails: returns 0, or that call's return with *failed
 * set to its index (-1 when none failed). */
int sk_generate_steps_many(struct stepper_kin **sks, int n, double flush_time,
                           int *failed);
/* cffi:end */

#endif
