/* The core state machine of the virtual scheduler: when a core re-picks
 * and what runs, CPU accounting, each core's single pending event, the
 * uncontended fast paths and the public entry points (spawn, wake,
 * interrupt, cut_burst, flush).  The C port of sim/hostcpu/scheduler.py,
 * timing.py and fastpath.py; the rules are documented there, and the
 * order of every state change and event is theirs. */
#include <stdlib.h>
#include <string.h>
#include "vs_internal.h"

void
sched_record(vs *k, int32_t kind, int32_t t, int64_t b)
{
    if (k->trace)
        vs_py_trace(k->ud, kind, t, b);
}

vs_thread *
core_top_rt(vs *k, vs_core *c)
{
    if (!c->rt_count)
        return NULL;
    for (int p = 99; p > 0; p--)
        if (c->rt_n[p])
            return k->threads[c->rt_levels[p][0]];
    return NULL;
}

/* -- accounting (timing.py) ----------------------------------------------- */
void
sched_account(vs *k, vs_core *c)
{
    vs_thread *t = TH(k, c->curr);
    if (!t)
        return;
    int64_t now = k->now, delta = now - c->seg_start;
    if (delta <= 0)
        return;
    int64_t work_from = c->work_start > c->seg_start ? c->work_start : c->seg_start;
    int64_t useful = now > work_from ? now - work_from : 0;
    if (useful > t->remaining)
        useful = t->remaining;
    t->remaining -= useful;
    t->cpu_ns += useful;
    c->busy_ns += delta;
    c->overhead_ns += delta - useful;
    c->seg_start = now;
    if (t->policy == VS_OTHER) {
        if (fair_charge(k, c->fair, t, delta))
            c->need = 1;              /* slice used up: re-pick */
        return;
    }
    if (k->throttle == VS_THR_CLASSIC)
        throttle_charge_window(k, c, now, delta);
    if (t->policy == VS_RR) {
        t->rr_left -= delta;
        if (t->rr_left <= 0)
            c->need = 1;
    }
}

static void
dispatch(vs *k, vs_core *c, vs_thread *t, int64_t now)
{
    int64_t sw = c->last != t->index ? k->ctx_ns : 0;
    c->last = t->index;
    c->work_start = now + sw;
    t->switches++;
    int64_t wait = now - t->runnable_since;
    vec_push(&t->runq_waits, wait);
    if (wait) {                        /* per second, for --plot */
        int64_t second = floordiv64(now, NS_PER_S);
        vs_vec *by_s = &t->runq_wait_by_s;
        while (by_s->n <= second)
            vec_push(by_s, 0);
        if (wait > by_s->v[second])
            by_s->v[second] = wait;
    }
    if (t->woke_at != VS_NONE) {
        vec_push(&t->wake_latencies, now + sw - t->woke_at);
        t->woke_at = VS_NONE;
    }
}

static void
switch_to(vs *k, vs_core *c, vs_thread *prev, vs_thread *nxt, int64_t now)
{
    if (prev)
        prev->runnable_since = now;     /* preempted: waits from now */
    c->curr = nxt ? nxt->index : -1;
    c->seg_start = now;
    if (nxt)
        dispatch(k, c, nxt, now);
    sched_record(k, TR_RUN, nxt ? nxt->index : -1, c->index);
}

static int64_t
tick_ceil(vs *k, int64_t at)
{
    if (!k->tick_ns)
        return at;
    return -floordiv64(-at, k->tick_ns) * k->tick_ns;
}

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

static int64_t
next_running_event(vs *k, vs_core *c, vs_thread *t, int64_t now)
{
    int64_t start = c->work_start > now ? c->work_start : now;
    int64_t at = (t->remaining == 0 || t->has_interrupt) ? start : start + t->remaining;
    if (t->policy == VS_OTHER) {
        if (fair_has_competition(c->fair, t))
            at = min64(at, tick_ceil(k, now + fair_ns_to_slice_end(c->fair, t)));
        if (k->throttle == VS_THR_FAIR_SERVER && c->fs_set && c->rt_count) {
            int64_t edge = c->fs_start + k->rt_period;     /* boost ends */
            at = min64(at, edge > now ? edge : now);
        }
        return at;
    }
    if (t->policy == VS_RR && c->rt_n[t->priority] > 1)
        at = min64(at, tick_ceil(k, now + (t->rr_left > 0 ? t->rr_left : 0)));
    if (k->throttle == VS_THR_CLASSIC) {
        at = min64(at, tick_ceil(k, throttle_time(k, c, now)));
    } else if (k->throttle == VS_THR_FAIR_SERVER && c->fair->nr) {
        if (!c->fs_set) {
            c->fs_start = now;
            c->fs_set = 1;
        }
        at = min64(at, c->fs_start + k->rt_runtime);   /* boost starts */
    }
    return at;
}

/* (Re)schedule the core's single pending event. */
static void
arm(vs *k, vs_core *c)
{
    int64_t now = k->now, at = 0;
    int has = 1;
    vs_thread *t = TH(k, c->curr);
    if (t) {
        if (k->fast_paths && c->fair->nr == 1 && !c->rt_count) {
            int64_t start = c->work_start > now ? c->work_start : now;
            at = (t->remaining == 0 || t->has_interrupt) ? start : start + t->remaining;
        } else {
            at = next_running_event(k, c, t, now);
        }
    } else if (c->switch_until > now) {
        at = c->switch_until;
    } else {
        has = 0;
    }
    if (k->throttle == VS_THR_CLASSIC && c->rt_throttled_until > now) {
        at = has ? min64(at, c->rt_throttled_until) : c->rt_throttled_until;
        has = 1;
    }
    if (kern_pending(k, c->ev_slot, c->ev_seq)) {
        if (has && c->ev_time == at)
            return;
        vs_cancel(k, c->ev_slot, c->ev_seq);
    }
    c->ev_slot = -1;
    if (has) {
        c->ev_slot = kern_schedule(k, at, 0, EV_CORE, c->index, 0);
        c->ev_seq = k->last_seq;
        c->ev_time = at;
    }
}

/* -- run queues ----------------------------------------------------------- */
void
sched_enqueue(vs *k, vs_core *c, vs_thread *t)
{
    t->core = c->index;
    if (t->policy == VS_OTHER) {
        fair_enqueue(k, c->fair, t);
        return;
    }
    int p = t->priority;
    if (c->rt_n[p] == c->rt_cap[p]) {
        c->rt_cap[p] = c->rt_cap[p] ? 2 * c->rt_cap[p] : 4;
        c->rt_levels[p] = xrealloc(c->rt_levels[p], c->rt_cap[p] * sizeof(int32_t));
    }
    c->rt_levels[p][c->rt_n[p]++] = t->index;
    c->rt_count++;
}

static void
rt_remove(vs_core *c, int p, int32_t ti)
{
    int32_t *l = c->rt_levels[p];
    for (int32_t i = 0; i < c->rt_n[p]; i++) {
        if (l[i] == ti) {
            memmove(&l[i], &l[i + 1], (c->rt_n[p] - i - 1) * sizeof(int32_t));
            c->rt_n[p]--;
            return;
        }
    }
}

void
sched_dequeue(vs *k, vs_core *c, vs_thread *t)
{
    if (t->policy == VS_OTHER) {
        fair_dequeue(k, c->fair, t);
    } else {
        rt_remove(c, t->priority, t->index);
        c->rt_count--;
    }
    if (c->curr == t->index) {
        c->curr = -1;
        fair_set_running(k, c->fair, NULL);
        sched_record(k, TR_RUN, -1, c->index);
    }
}

void
sched_enqueue_and_check(vs *k, vs_core *c, vs_thread *t)
{
    if (c->curr >= 0)
        sched_account(k, c);
    sched_enqueue(k, c, t);
    vs_thread *curr = TH(k, c->curr);
    if (!curr) {
        c->need = 1;
    } else if (t->policy != VS_OTHER) {
        if (curr->policy == VS_OTHER || t->priority > curr->priority)
            c->need = 1;
    } else if (curr->policy == VS_OTHER && fair_pick(k, c->fair) == t) {
        c->need = 1;
    }
    sched_mark(k, c);
}

static vs_thread *
pick(vs *k, vs_core *c, int rt_allowed)
{
    if (rt_allowed) {
        vs_thread *t = core_top_rt(k, c);
        if (t->policy == VS_RR && t->rr_left <= 0) {
            t->rr_left = k->rr_slice;
            int p = t->priority;
            if (c->rt_n[p] > 1) {
                rt_remove(c, p, t->index);
                c->rt_levels[p][c->rt_n[p]++] = t->index;
                t = k->threads[c->rt_levels[p][0]];
                if (t->policy == VS_RR && t->rr_left <= 0)
                    t->rr_left = k->rr_slice;  /* see pyscheduler.py _pick */
            }
        }
        return t;
    }
    if (c->fair->nr)
        return fair_pick(k, c->fair);
    return NULL;
}

/* -- the core state machine ----------------------------------------------- */
void
sched_mark(vs *k, vs_core *c)
{
    if (!c->dirty) {
        c->dirty = 1;
        k->dirty_list[k->ndirty++] = c->index;
    }
}

static void run_program(vs *k, vs_core *c, vs_thread *t);

static int
blocked_at_once(vs_core *c, int64_t now)
{
    if (c->work_start > now) {
        c->switch_until = c->work_start;
        c->overhead_ns += c->work_start - now;
        c->busy_ns += c->work_start - now;
        return 1;
    }
    return 0;
}

void
sched_repick(vs *k, vs_core *c, vs_thread *prev, int gate, int64_t now)
{
    for (int i = 0; i < MAX_PROGRAM_STEPS && !k->err; i++) {
        vs_thread *nxt = pick(k, c, gate);
        if (!nxt && place_pull(k, c)) {
            c->gate = gate = throttle_gate(k, c);
            nxt = pick(k, c, gate);
        }
        if (nxt != prev)
            switch_to(k, c, prev, nxt, now);
        /* every pick (re)starts the picked entity's protected slice */
        fair_set_running(k, c->fair, nxt && nxt->policy == VS_OTHER ? nxt : NULL);
        if (!nxt || nxt == prev || nxt->remaining)
            break;
        run_program(k, c, nxt);
        if (c->curr == nxt->index || blocked_at_once(c, now))
            break;
        prev = NULL;
        gate = throttle_gate(k, c);
    }
    if (k->throttle == VS_THR_FAIR_SERVER)
        throttle_fair_served(k, c, gate);
    arm(k, c);
}

static void
resched(vs *k, vs_core *c)
{
    if (c->curr >= 0)
        sched_account(k, c);
    if (core_load(c) > 1)
        k->want_balance = 1;          /* someone waits: balancing may help */
    int gate = c->rt_count ? throttle_gate(k, c) : 0;
    if (gate != c->gate) {
        c->gate = gate;
        c->need = 1;
    }
    vs_thread *prev = TH(k, c->curr);
    int64_t now = k->now;
    if ((prev && !c->need) || (!prev && c->switch_until > now)) {
        arm(k, c);
        return;
    }
    c->need = 0;
    sched_repick(k, c, prev, gate, now);
}

void
sched_settle(vs *k)
{
    if (k->busy)
        return;
    k->busy = 1;
    while (k->ndirty && !k->err) {
        vs_core *c = &k->cores[k->dirty_list[0]];
        k->ndirty--;
        memmove(k->dirty_list, k->dirty_list + 1, k->ndirty * sizeof(int32_t));
        c->dirty = 0;
        resched(k, c);
    }
    if (k->want_balance) {
        k->want_balance = 0;
        place_arm_balance(k);
    }
    k->busy = 0;
}

/* Run t's zero-time program steps while it has no CPU work left. */
static void
run_program(vs *k, vs_core *c, vs_thread *t)
{
    if (k->err)
        return;
    k->current = t->index;
    for (int i = 0; i < MAX_PROGRAM_STEPS; i++) {
        int32_t kind = 0;
        int64_t rem = 0;
        if (t->remaining == 0) {
            kind = 0;
        } else if (t->has_interrupt) {
            kind = 1;
            rem = t->remaining;
            t->has_interrupt = 0;
            t->remaining = 0;
        } else {
            return;
        }
        if (t->until_slot >= 0) {
            vs_cancel(k, t->until_slot, t->until_seq);
            t->until_slot = -1;
        }
        if (t->wait_left > 0) {        /* vs_wait_posts: wait again, in C */
            if (kind) {                /* (a GIL drop: waiting while holding it) */
                k->err = VS_ERR_NATIVE;
                return;
            }
            t->wait_left--;
            vs_wait(k, t->index, t->wait_sig, VS_NONE);
        } else if (t->native) {        /* a C program (vs_prog.c): no GIL, */
            if (kind                   /* so no interrupts */
                    || t->native(k, t->index, kind, rem, t->native_ctx)) {
                if (!k->err)
                    k->err = VS_ERR_NATIVE;
                return;
            }
        } else if (vs_py_step(k->ud, t->index, kind, rem)) {
            k->err = 1;                /* the Python side holds the error */
            return;
        }
        if (t->state != VS_RUNNABLE) {
            sched_dequeue(k, c, t);
            return;
        }
    }
    k->err = 2;                        /* a runaway program */
}

/* -- fast paths (fastpath.py) --------------------------------------------- */
static void
wake_idle(vs *k, vs_core *c, vs_thread *t, int64_t now)
{
    k->busy = 1;
    k->fast_wakes++;
    t->core = c->index;
    fair_enqueue(k, c->fair, t);
    sched_record(k, TR_WAKE, t->index, c->index);
    c->gate = 0;
    c->need = 0;
    switch_to(k, c, NULL, t, now);
    fair_set_running(k, c->fair, t);
    if (t->remaining == 0)
        run_program(k, c, t);
    if (c->curr != t->index && !blocked_at_once(c, now)) {
        sched_repick(k, c, NULL, throttle_gate(k, c), now);
    } else {
        if (k->throttle == VS_THR_FAIR_SERVER)
            throttle_fair_served(k, c, 0);
        arm(k, c);
    }
    k->busy = 0;
    if (k->ndirty)
        sched_settle(k);
}

static int
settle_quiet(vs *k, vs_core *c)
{
    if (c->rt_count || c->gate || c->need)
        return 0;
    if (c->curr >= 0) {
        if (c->fair->nr != 1)
            return 0;
    } else {
        if (c->fair->nr || c->switch_until > k->now)
            return 0;
        for (int i = 0; i < k->ncores; i++) {     /* _pull's sources */
            vs_core *o = &k->cores[i];
            if (o != c && o->curr >= 0 && core_load(o) >= 2)
                return 0;
        }
        if (c->fair->root.curr)
            fair_set_running(k, c->fair, NULL);
        if (k->throttle == VS_THR_FAIR_SERVER)
            c->fs_set = 0;
    }
    arm(k, c);
    return 1;
}

void
sched_on_core_event(vs *k, int32_t ci)
{
    vs_core *c = &k->cores[ci];
    c->ev_slot = -1;
    k->busy = 1;
    sched_account(k, c);
    vs_thread *t = TH(k, c->curr);
    if (t && k->now >= c->work_start)
        run_program(k, c, t);
    if (k->fast_paths && !k->ndirty && settle_quiet(k, c)) {
        k->busy = 0;
        return;
    }
    sched_mark(k, c);
    k->busy = 0;
    sched_settle(k);
}

/* -- public entry points --------------------------------------------------- */
int32_t
vs_wake(vs *k, int32_t ti)
{
    vs_thread *t = k->threads[ti];
    if (t->state != VS_BLOCKED)
        return 0;
    if (t->timer_slot >= 0) {
        vs_cancel(k, t->timer_slot, t->timer_seq);
        t->timer_slot = -1;
    }
    int64_t now = k->now;
    t->state = VS_RUNNABLE;
    t->woke_at = now;
    t->runnable_since = now;
    vs_core *c = &k->cores[t->core];
    if (k->fast_paths && t->policy == VS_OTHER && c->curr < 0
            && core_load(c) == 0 && ((t->cpus >> t->core) & 1)) {
        /* the previous core is idle: _select_core's first choice */
        if (!k->busy && !k->ndirty && c->switch_until <= now) {
            wake_idle(k, c, t, now);
            return 1;
        }
        fair_enqueue(k, c->fair, t);      /* _enqueue_and_check, curr None */
        c->need = 1;
        sched_mark(k, c);
    } else {
        c = place_select_core(k, t);
        sched_enqueue_and_check(k, c, t);
    }
    sched_record(k, TR_WAKE, ti, c->index);
    sched_settle(k);
    return 1;
}

void
vs_interrupt(vs *k, int32_t ti)
{
    vs_thread *t = k->threads[ti];
    t->has_interrupt = 1;
    vs_core *c = &k->cores[t->core];
    if (c->curr == ti) {
        sched_mark(k, c);
        sched_settle(k);
    }
}

void
vs_cut_burst(vs *k, int32_t ti)
{
    vs_thread *t = k->threads[ti];
    t->until_slot = -1;
    if (t->state != VS_RUNNABLE || t->remaining == 0)
        return;
    vs_core *c = &k->cores[t->core];
    if (c->curr == ti) {
        sched_account(k, c);
        t->remaining = 0;
        sched_mark(k, c);
        sched_settle(k);
    } else {
        t->remaining = 0;
    }
}

void
vs_flush(vs *k)
{
    for (int i = 0; i < k->ncores; i++)
        sched_account(k, &k->cores[i]);
}

int32_t
vs_group(vs *k, int64_t shares)
{
    k->groups = xrealloc(k->groups, (k->ngroups + 1) * sizeof(struct vs_group));
    group_init(k, &k->groups[k->ngroups], shares);
    return k->ngroups++;
}

int32_t
vs_thread_new(vs *k, int32_t policy, int64_t weight, int32_t priority,
              uint64_t cpus, int32_t group)
{
    vs_thread *t = xcalloc(1, sizeof(*t));
    int32_t ti = k->nthreads;
    t->index = ti;
    t->policy = policy;
    t->priority = priority;
    t->group = group;
    t->cpus = cpus;
    t->core = __builtin_ctzll(cpus);
    t->state = VS_BLOCKED;
    t->timer_slot = t->until_slot = -1;
    t->woke_at = VS_NONE;
    t->rr_left = k->rr_slice;
    t->fe = fair_entity_new(weight, k->slice_ns, ti);
    k->threads = xrealloc(k->threads, (ti + 1) * sizeof(vs_thread *));
    k->threads[ti] = t;
    k->nthreads++;
    return ti;
}

/* A new thread's first program step runs once it gets a CPU at or after
 * `at` (VS_NONE: now). */
void
vs_start(vs *k, int32_t ti, int64_t at)
{
    vs_thread *t = k->threads[ti];
    if (at == VS_NONE || at <= k->now) {
        vs_wake(k, ti);
    } else {
        t->timer_slot = kern_schedule(k, at, 0, EV_WAKE, ti, 0);
        t->timer_seq = k->last_seq;
    }
}

/* -- program actions (threads.py; the one-action rule is checked there) --- */
void
vs_compute(vs *k, int32_t ti, int64_t ns, int64_t until)
{
    vs_thread *t = k->threads[ti];
    if (until != VS_NONE && ns > 0) {
        if (until <= k->now) {
            ns = 0;                    /* started after its end */
        } else {
            t->until_slot = kern_schedule(k, until, 0, EV_CUT, ti, 0);
            t->until_seq = k->last_seq;
        }
    }
    t->remaining = ns;
}

void
vs_sleep_until(vs *k, int32_t ti, int64_t at)
{
    vs_thread *t = k->threads[ti];
    if (at <= k->now) {
        t->remaining = 0;              /* clock_nanosleep to a past time */
        return;
    }
    t->state = VS_BLOCKED;
    t->timer_slot = kern_schedule(k, at, 0, EV_WAKE, ti, 0);
    t->timer_seq = k->last_seq;
}

void
vs_block(vs *k, int32_t ti)
{
    k->threads[ti]->state = VS_BLOCKED;
}

void
vs_wait_posts(vs *k, int32_t ti, int32_t sig, int32_t n)
{
    vs_thread *t = k->threads[ti];
    t->wait_left = n > 1 ? n - 1 : 0;
    t->wait_sig = sig;
    vs_wait(k, ti, sig, VS_NONE);
}

void
vs_exit(vs *k, int32_t ti)
{
    k->threads[ti]->state = VS_EXITED;
}
