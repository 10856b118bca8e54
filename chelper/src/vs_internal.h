#ifndef KLIPSIM_VS_INTERNAL_H
#define KLIPSIM_VS_INTERNAL_H
/* Internal types and functions shared by the vs_*.c files (the virtual
 * scheduler's C core, see vsched.h).  Not part of the cffi interface. */
#include "vsched.h"
#include "xalloc.h"

typedef __int128 i128;

/* thread policies and states (threads.py's strings, as ints) */
enum { VS_OTHER = 0, VS_FIFO = 1, VS_RR = 2 };
enum { VS_NEW = 0, VS_RUNNABLE = 1, VS_BLOCKED = 2, VS_EXITED = 3 };
enum { VS_THR_CLASSIC = 0, VS_THR_FAIR_SERVER = 1, VS_THR_NONE = 2 };
/* event kinds */
enum { EV_PY = 0, EV_CORE, EV_WAKE, EV_CUT, EV_TIMEOUT, EV_BALANCE };
/* trace kinds (vs_py_trace) */
enum { TR_WAKE = 0, TR_RUN = 1 };

#define MAX_PROGRAM_STEPS 100000
#define VS_ERR_NATIVE 4            /* a native program step failed (vs_prog.c) */
#define NS_PER_S 1000000000LL

/* Python's // and ceil(a / b) for a positive divisor */
static inline int64_t
floordiv64(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline i128
floordiv128(i128 a, i128 b)
{
    i128 q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

void vec_push(vs_vec *v, int64_t x);

/* -- EEVDF (vs_fair.c) ------------------------------------------------ */
struct vs_queue;
struct vs_entity {
    int64_t weight, slice_ns, v, vd, vlag, stamp;
    int32_t protect, queued, thread, tg;   /* thread -1: a group entity */
    struct vs_queue *child;
};
struct vs_queue {
    struct vs_entity **ents;
    int32_t n, cap;
    struct vs_entity *curr;
    int64_t last_v, load;
    i128 wsum;
};
struct vs_group {
    int64_t shares;
    double *avg;
    int64_t *stamp, *runnable;
};
struct vs_fairrq {
    int32_t core, nr;
    struct vs_queue root;
    struct vs_entity **groups;     /* per task group id, NULL until used */
    int32_t ngroups;
};

struct vs_entity *fair_entity_new(int64_t weight, int64_t slice_ns, int32_t thread);
void fair_init(vs *k, struct vs_fairrq *rq, int32_t core);
void fair_enqueue(vs *k, struct vs_fairrq *rq, vs_thread *t);
void fair_dequeue(vs *k, struct vs_fairrq *rq, vs_thread *t);
vs_thread *fair_pick(vs *k, struct vs_fairrq *rq);
void fair_set_running(vs *k, struct vs_fairrq *rq, vs_thread *t);
int fair_charge(vs *k, struct vs_fairrq *rq, vs_thread *t, int64_t delta);
int64_t fair_ns_to_slice_end(struct vs_fairrq *rq, vs_thread *t);
int fair_has_competition(struct vs_fairrq *rq, vs_thread *t);
void group_init(vs *k, struct vs_group *g, int64_t shares);
void group_set_runnable(struct vs_group *g, int32_t core, int64_t w, int64_t now);

/* -- kernel (vs_kernel.c) --------------------------------------------- */
struct vs_signal {
    int64_t count;
    int32_t *waiters;
    int32_t n, cap;
};
int32_t kern_schedule(vs *k, int64_t at, int32_t prio, int32_t kind,
                      int32_t a, int32_t b);
int kern_pending(vs *k, int32_t slot, int64_t seq);
void signal_time_out(vs *k, int32_t sig, int32_t t);

/* -- the state machine (vs_sched.c) ------------------------------------ */
static inline vs_thread *TH(vs *k, int32_t i) { return i < 0 ? 0 : k->threads[i]; }
void sched_account(vs *k, vs_core *c);
void sched_mark(vs *k, vs_core *c);
void sched_settle(vs *k);
void sched_enqueue(vs *k, vs_core *c, vs_thread *t);
void sched_dequeue(vs *k, vs_core *c, vs_thread *t);
void sched_enqueue_and_check(vs *k, vs_core *c, vs_thread *t);
void sched_repick(vs *k, vs_core *c, vs_thread *prev, int gate, int64_t now);
void sched_on_core_event(vs *k, int32_t core);
void sched_record(vs *k, int32_t kind, int32_t t, int64_t b);
vs_thread *core_top_rt(vs *k, vs_core *c);
static inline int core_load(vs_core *c) { return c->fair->nr + c->rt_count; }

/* -- placement, throttling (vs_place.c) --------------------------------- */
vs_core *place_select_core(vs *k, vs_thread *t);
int place_pull(vs *k, vs_core *c);
void place_arm_balance(vs *k);
void place_balance_tick(vs *k);
int throttle_gate(vs *k, vs_core *c);
void throttle_charge_window(vs *k, vs_core *c, int64_t now, int64_t delta);
void throttle_fair_served(vs *k, vs_core *c, int gate);
int64_t throttle_time(vs *k, vs_core *c, int64_t now);
#endif
