#ifndef KLIPSIM_VSCHED_H
#define KLIPSIM_VSCHED_H
/* The virtual scheduler's core in C: the event kernel's heap and the
 * scheduler's state machine (cores, run queues, EEVDF, task groups, RT
 * throttling, placement, CPU accounting, fast paths).  A port of the
 * Python reference model (sim/kernel/events.py, sim/hostcpu/scheduler.py
 * and its mixins), decision for decision: tests/test_vsched_port.py runs
 * random thread sets on both and compares trace bytes and metrics.
 *
 * Python keeps the thread programs and the Python-callback events:
 * - vs_run pops events; C events (core events, sleep timers, wait
 *   time-outs, burst cuts, balance ticks) are handled here, a Python
 *   event returns VS_RUN_PY with its slot in `py_slot`;
 * - a program step is run through the extern "Python" callback
 *   vs_py_step (C holds only whether a thread has an interrupt pending);
 * - with tracing on, "wake"/"run" records go out through vs_py_trace.
 * Files: vs_kernel.c (heap, events, signals), vs_fair.c (EEVDF and task
 * groups), vs_sched.c (the core state machine), vs_place.c (placement,
 * balancing, throttling, thread actions).
 */
#include <stdint.h>

/* cffi:begin */
typedef struct { int64_t *v; int64_t n, cap; } vs_vec;
struct vs_entity;
struct vs_fairrq;
struct vs_kernel_heap;
struct vs_group;
struct vs_signal;
struct vs;
/* A native (C) program step: the same contract as vs_py_step (one
 * action, 0 on success); vs_prog.c / vsprog.h. */
typedef int32_t (*vs_step_fn)(struct vs *k, int32_t t, int32_t kind,
                              int64_t remaining, void *ctx);

typedef struct vs_thread {
    int32_t index, policy, priority, state, core, timed_out, has_interrupt;
    int32_t group;             /* task group id, -1: root */
    uint64_t cpus;             /* affinity mask */
    int64_t remaining, runnable_since, woke_at, rr_left, cpu_ns, switches;
    int32_t timer_slot, until_slot;
    int64_t timer_seq, until_seq;
    vs_vec runq_waits, wake_latencies, runq_wait_by_s;
    struct vs_entity *fe;
    vs_step_fn native;         /* NULL: the program is Python's */
    void *native_ctx;
    int32_t wait_left, wait_sig;   /* vs_wait_posts: waits still to do in C */
} vs_thread;

typedef struct vs_core {
    int32_t index, curr, last, rt_count, dirty, need, gate, fs_set;
    int64_t seg_start, work_start, rt_window, rt_time, rt_throttled_until;
    int64_t fs_start, switch_until, overhead_ns, busy_ns;
    int32_t ev_slot;
    int64_t ev_seq, ev_time;
    int32_t *rt_levels[100];   /* per priority: thread indices, in order */
    int32_t rt_n[100], rt_cap[100];
    struct vs_fairrq *fair;
} vs_core;

typedef struct vs {
    int64_t now, events_run, last_seq;
    int32_t py_slot, current, err, fast_paths, fair_shortcut, trace;
    int32_t fast_wakes, busy, want_balance, ncores, nthreads, nsignals;
    int32_t ngroups, throttle, bal_slot;
    int64_t bal_seq, slice_ns, tick_ns, ctx_ns, rt_period, rt_runtime;
    int64_t rr_slice, balance_interval;
    vs_thread **threads;
    vs_core *cores;
    struct vs_group *groups;
    struct vs_signal *signals;
    int32_t *dirty_list;
    int32_t ndirty;
    struct vs_kernel_heap *heap;
    void *ud;
    int32_t stop;              /* set: vs_run returns VS_RUN_STOP before its
                                  next event (and clears it) */
} vs;

enum { VS_RUN_DONE = 0, VS_RUN_PY = 1, VS_RUN_ERR = 2, VS_RUN_STOP = 3 };
vs *vs_new(void);
void vs_free(vs *k);
int32_t vs_config(vs *k, int32_t ncores, int64_t slice_ns, int64_t tick_ns,
                  int64_t context_switch_ns, int32_t throttle_mode,
                  int64_t rt_period_ns, int64_t rt_runtime_ns,
                  int64_t rr_slice_ns, int64_t balance_interval_ns);
int32_t vs_schedule_py(vs *k, int64_t at, int32_t priority);
/* A C event: at `at` (same (time, priority, sequence) order as any other
 * event) vs_run calls int32_t fn(ctx, now, arg), which may schedule and
 * cancel events and call into Python; a nonzero return ends vs_run with
 * VS_RUN_ERR, k->err = VS_ERR_C_EVENT (the function left its Python
 * exception with the kernel facade).  `fn` may live in another extension
 * (a void * for cffi).  Returns the slot, for vs_cancel/vs_pending with
 * k->last_seq. */
enum { VS_ERR_C_EVENT = 5 };
int32_t vs_schedule_c(vs *k, int64_t at, int32_t priority, void *fn, void *ctx,
                      int64_t arg);
void vs_cancel(vs *k, int32_t slot, int64_t seq);
int32_t vs_pending(vs *k, int32_t slot, int64_t seq);
int32_t vs_run(vs *k, int64_t limit, int64_t max_events);
int64_t vs_peek(vs *k);

int32_t vs_group(vs *k, int64_t shares);
int32_t vs_thread_new(vs *k, int32_t policy, int64_t weight, int32_t priority,
                      uint64_t cpus, int32_t group);
void vs_start(vs *k, int32_t t, int64_t at);
int32_t vs_wake(vs *k, int32_t t);
void vs_interrupt(vs *k, int32_t t);
void vs_cut_burst(vs *k, int32_t t);
void vs_flush(vs *k);
void vs_compute(vs *k, int32_t t, int64_t ns, int64_t until);
void vs_sleep_until(vs *k, int32_t t, int64_t at);
void vs_wait(vs *k, int32_t t, int32_t sig, int64_t until);
void vs_block(vs *k, int32_t t);
/* vs_wait(t, sig, VS_NONE) n times over: the steps after the first n-1
 * posts are run here (each a zero-time program step of t that waits
 * again, as n waits from Python would be); the step after the n-th post
 * is the thread's own (Python) program again. */
void vs_wait_posts(vs *k, int32_t t, int32_t sig, int32_t n);
void vs_exit(vs *k, int32_t t);

int32_t vs_signal(vs *k);
void vs_post(vs *k, int32_t sig);
void vs_wake_all(vs *k, int32_t sig);
int64_t vs_signal_count(vs *k, int32_t sig);
int32_t vs_signal_nwait(vs *k, int32_t sig);
int32_t vs_signal_waiter(vs *k, int32_t sig, int32_t i);
int32_t vs_core_load(vs *k, int32_t core);
void vs_signal_time_out(vs *k, int32_t sig, int32_t t);

/* cffi:end */

/* The Python side (cffi extern "Python+C"; build_chelper.py reads this
 * comment into the cdef):
 * cffi:python-begin
extern "Python+C" int32_t vs_py_step(void *ud, int32_t t, int32_t kind,
                                     int64_t remaining);
extern "Python+C" void vs_py_trace(void *ud, int32_t kind, int32_t t, int64_t b);
cffi:python-end
 */
int32_t vs_py_step(void *ud, int32_t t, int32_t kind, int64_t remaining);
void vs_py_trace(void *ud, int32_t kind, int32_t t, int64_t b);

#define VS_NONE INT64_MIN        /* "no time": Python's None */
#endif
