#ifndef KLIPSIM_ITERSOLVE_H
#define KLIPSIM_ITERSOLVE_H
/* Iterative step-time solver shared by every stepper kinematics.
 * See itersolve.c. */
#include <stddef.h>
#include "trapq.h"
#include "stepcompress.h"

/* cffi:begin */
struct stepper_kin;

void sk_delete(struct stepper_kin *sk);
void sk_set_trapq(struct stepper_kin *sk, struct trapq *tq);
void sk_set_stepcompress(struct stepper_kin *sk, struct stepcompress *sc,
                         double step_dist);
void sk_set_position(struct stepper_kin *sk, double x, double y, double z);
double sk_commanded_position(struct stepper_kin *sk);
void sk_set_commanded_position(struct stepper_kin *sk, double pos);
double sk_calc_position_from_coord(struct stepper_kin *sk,
                                   double x, double y, double z);
double sk_calc_position_at(struct stepper_kin *sk, double print_time);
int sk_active_flags(struct stepper_kin *sk);
double sk_pre_active(struct stepper_kin *sk);
double sk_post_active(struct stepper_kin *sk);
double sk_last_flush_time(struct stepper_kin *sk);
double sk_check_active(struct stepper_kin *sk, double flush_time);
// sk_generate_steps: 0, or -1 (the compressor's error), or -2 when the
// steps would come faster than the step-rate bound (itersolve.c).
int sk_generate_steps(struct stepper_kin *sk, double flush_time);
// Solve with the position callback called through its pointer even when
// the kinematics has a specialised solver (the tests' reference).
void sk_use_generic_solver(struct stepper_kin *sk);
/* cffi:end */

enum { AF_X = 1 << 0, AF_Y = 1 << 1, AF_Z = 1 << 2 };

struct stepper_kin;
typedef double (*sk_position_fn)(struct stepper_kin *sk, struct tq_move *m,
                                 double move_time);
typedef void (*sk_destroy_fn)(struct stepper_kin *sk);
typedef void (*sk_post_fn)(struct stepper_kin *sk);
// Finds and queues the steps of move m between two print times.
typedef int (*sk_solve_fn)(struct stepper_kin *sk, struct tq_move *m,
                           double abs_start, double abs_end);

/* Common head of every kinematics object (kinematics embed it first). */
struct stepper_kin {
    struct trapq *tq;
    struct stepcompress *sc;
    double step_dist, commanded_pos;
    double last_flush_time, last_move_time;
    int active_flags;
    double pre_active, post_active;     /* scan windows (seconds) */
    sk_position_fn calc_position;
    sk_destroy_fn destroy;              /* optional extra cleanup */
    sk_post_fn post_solve;              /* optional, after each solved range
                                           (e.g. wrap an angle) */
    sk_solve_fn solve;                  /* the step search (itersolve_solve.h) */
};

void sk_init(struct stepper_kin *sk, sk_position_fn calc_position,
             int active_flags);
// A zeroed kinematics object of `size` bytes (a struct that starts with
// struct stepper_kin), initialised; NULL when out of memory.
struct stepper_kin *sk_alloc(size_t size, sk_position_fn calc_position,
                             int active_flags);

#endif
