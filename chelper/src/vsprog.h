#ifndef KLIPSIM_VSPROG_H
#define KLIPSIM_VSPROG_H
/* Native (C) thread programs for the virtual scheduler (vs_prog.c).
 *
 * A thread whose program is pure bookkeeping (wait on a signal, charge
 * a cost, post a signal or hand bytes on) runs it in C: `vs_set_native`
 * gives the thread a step function that vs_sched.c's run_program calls
 * instead of the Python step (vs_py_step), under the same rules: each
 * step takes zero virtual time and ends with exactly one action
 * (vs_compute, vs_wait, ...), MAX_PROGRAM_STEPS zero-time steps in a
 * row are a runaway, and a step returning non-zero stops the run
 * (vs->err; VS_ERR_NATIVE unless the step set another). A native program
 * takes no interrupts (those are the GIL's): one stops the run too.
 *
 * The programs, ports of Python ones kept as the reference model (the
 * first two in tests/_host_threads_model.py, with their facades in
 * sim/simulate/host_threads.py):
 * - the tty flip-buffer kworker (`kworker_*`): chunks pushed to it are
 *   taken all at once by a burst costing kworker_chunk_ns x max(1,
 *   chunks), and at the burst's end handed on in push order: to a
 *   target (a serial queue's receive buffer, linkio_receive, and a post
 *   of its thread's signal) or, for a chunk pushed with
 *   kworker_push_py, to Python (kworker_py_deliver: the facade calls its
 *   next queued callback);
 * - a step-generation thread (`stepgen_prog_*`): each submitted batch of
 *   steps costs stepgen_wake_ns + steps x step_ns, then posts the batch's
 *   done signal;
 * - a periodic load thread (`periodic_prog_*`, sim/hostcpu/load.py's
 *   loads): work_ns of CPU every period_ns, sleeping to the next period
 *   start (the Python spawn_periodic stays in load.py as its reference).
 * Costs go through vs_cost_ns, HostCPU.cost_ns's rule.
 *
 * kworker_push(w, target, data, n) may be called from C as well as from
 * Python. An MCU output event's sink (int32_t sink(ctx, data, len)) is
 * kworker_sink with ctx = kworker_port(w, target): the same push.
 */
#include <stddef.h>
#include <stdint.h>
#include "linkio.h"
#include "vsched.h"

/* cffi:begin */
void vs_set_native(vs *k, int32_t t, vs_step_fn step, void *ctx);
int64_t vs_cost_ns(double speed, int64_t reference_ns);

struct kworker;
struct kworker *kworker_new(vs *k, int32_t signal, int64_t chunk_ns, double speed,
                            void *ud);
void kworker_free(struct kworker *w);
void kworker_attach(struct kworker *w, int32_t thread);
int32_t kworker_target(struct kworker *w, struct linkio *rx, int32_t signal);
void kworker_push(struct kworker *w, int32_t target, const uint8_t *data, int32_t n);
void kworker_push_py(struct kworker *w);
void *kworker_port(struct kworker *w, int32_t target);
int32_t kworker_sink(void *port, const uint8_t *data, size_t n);

struct stepgen_prog;
struct stepgen_prog *stepgen_prog_new(vs *k, int32_t signal, int64_t wake_ns,
                                      int64_t step_ns, double speed);
void stepgen_prog_free(struct stepgen_prog *p);
void stepgen_prog_attach(struct stepgen_prog *p, int32_t thread);
void stepgen_submit(struct stepgen_prog *p, int64_t steps, int32_t done);

struct periodic_prog;
struct periodic_prog *periodic_prog_new(vs *k, int64_t work_ns, int64_t period_ns,
                                        int64_t first_ns, int32_t catch_up);
void periodic_prog_free(struct periodic_prog *p);
void periodic_prog_attach(struct periodic_prog *p, int32_t thread);
/* cffi:end */

/* cffi:python-begin
extern "Python+C" int32_t kworker_py_deliver(void *ud);
cffi:python-end */
int32_t kworker_py_deliver(void *ud);

#endif
