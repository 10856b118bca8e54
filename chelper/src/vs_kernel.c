/* The event kernel of the virtual scheduler (see vsched.h): integer
 * virtual time, a binary heap ordered by (time, priority, sequence), event
 * slots that can be cancelled lazily, the run loop that handles C events
 * and hands Python events back, and the counting signals.  A port of
 * sim/kernel/events.py (Kernel) and threads.py (Signal). */
#include <stdlib.h>
#include <string.h>
#include "vs_internal.h"

/* A C-callback event (vs_schedule_c); its kind beside vs_internal.h's. */
#define EV_C 100
typedef int32_t (*vs_c_event)(void *ctx, int64_t now, int64_t arg);

struct hitem { int64_t time, seq; int32_t prio, slot; };
/* fn, ctx, arg: an EV_C event's function and what it is called with */
struct slot { int64_t seq; int32_t kind, a, b, live; vs_c_event fn; void *ctx; int64_t arg; };
struct vs_kernel_heap {
    struct hitem *h;
    int64_t n, cap;
    struct slot *slots;
    int32_t nslots, capslots, *free, nfree, capfree;
};

void
vec_push(vs_vec *v, int64_t x)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? 2 * v->cap : 16;
        v->v = xrealloc(v->v, v->cap * sizeof(int64_t));
    }
    v->v[v->n++] = x;
}

static int
before(const struct hitem *a, const struct hitem *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    if (a->prio != b->prio)
        return a->prio < b->prio;
    return a->seq < b->seq;
}

static void
heap_push(struct vs_kernel_heap *hp, struct hitem it)
{
    if (hp->n == hp->cap) {
        hp->cap = hp->cap ? 2 * hp->cap : 256;
        hp->h = xrealloc(hp->h, hp->cap * sizeof(*hp->h));
    }
    int64_t i = hp->n++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!before(&it, &hp->h[p]))
            break;
        hp->h[i] = hp->h[p];
        i = p;
    }
    hp->h[i] = it;
}

static void
heap_pop(struct vs_kernel_heap *hp)
{
    struct hitem last = hp->h[--hp->n];
    int64_t n = hp->n, i = 0;
    if (!n)
        return;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&hp->h[c + 1], &hp->h[c]))
            c++;
        if (!before(&hp->h[c], &last))
            break;
        hp->h[i] = hp->h[c];
        i = c;
    }
    hp->h[i] = last;
}

static void
slot_free(struct vs_kernel_heap *hp, int32_t s)
{
    if (hp->nfree == hp->capfree) {
        hp->capfree = hp->capfree ? 2 * hp->capfree : 256;
        hp->free = xrealloc(hp->free, hp->capfree * sizeof(int32_t));
    }
    hp->free[hp->nfree++] = s;
}

int32_t
kern_schedule(vs *k, int64_t at, int32_t prio, int32_t kind, int32_t a, int32_t b)
{
    struct vs_kernel_heap *hp = k->heap;
    int32_t s;
    if (at < k->now)
        k->err = 3;                    /* time travel: a broken rule */
    if (hp->nfree) {
        s = hp->free[--hp->nfree];
    } else {
        if (hp->nslots == hp->capslots) {
            hp->capslots = hp->capslots ? 2 * hp->capslots : 256;
            hp->slots = xrealloc(hp->slots, hp->capslots * sizeof(struct slot));
        }
        s = hp->nslots++;
    }
    int64_t seq = ++k->last_seq;
    hp->slots[s] = (struct slot){seq, kind, a, b, 1, NULL, NULL, 0};
    heap_push(hp, (struct hitem){at, seq, prio, s});
    return s;
}

int
kern_pending(vs *k, int32_t slot, int64_t seq)
{
    if (slot < 0)
        return 0;
    struct slot *sl = &k->heap->slots[slot];
    return sl->seq == seq && sl->live;
}

void
vs_cancel(vs *k, int32_t slot, int64_t seq)
{
    if (slot >= 0 && k->heap->slots[slot].seq == seq)
        k->heap->slots[slot].live = 0;
}

int32_t
vs_pending(vs *k, int32_t slot, int64_t seq)
{
    return kern_pending(k, slot, seq);
}

int32_t
vs_schedule_py(vs *k, int64_t at, int32_t priority)
{
    return kern_schedule(k, at, priority, EV_PY, 0, 0);
}

int32_t
vs_schedule_c(vs *k, int64_t at, int32_t priority, void *fn, void *ctx, int64_t arg)
{
    int32_t s = kern_schedule(k, at, priority, EV_C, 0, 0);
    struct slot *sl = &k->heap->slots[s];
    sl->fn = (vs_c_event)fn;
    sl->ctx = ctx;
    sl->arg = arg;
    return s;
}

static void
handle(vs *k, int32_t kind, int32_t a, int32_t b)
{
    switch (kind) {
    case EV_CORE:
        sched_on_core_event(k, a);
        break;
    case EV_WAKE:
        k->threads[a]->timer_slot = -1;      /* the timer fired */
        vs_wake(k, a);
        break;
    case EV_CUT:
        vs_cut_burst(k, a);
        break;
    case EV_TIMEOUT:
        signal_time_out(k, b, a);
        break;
    case EV_BALANCE:
        place_balance_tick(k);
        break;
    }
}

/* Run events at times < limit, at most max_events of them; a Python
 * event returns VS_RUN_PY (its slot in k->py_slot, now set); k->stop
 * set (by an event, from Python: Kernel.request_stop) returns
 * VS_RUN_STOP before the next event, now left at the last event's. */
int32_t
vs_run(vs *k, int64_t limit, int64_t max_events)
{
    struct vs_kernel_heap *hp = k->heap;
    while (hp->n && max_events > 0) {
        if (k->stop) {                 /* asked for by an event (or before) */
            k->stop = 0;
            return VS_RUN_STOP;
        }
        struct hitem top = hp->h[0];
        if (top.time >= limit)
            break;
        heap_pop(hp);
        struct slot sl = hp->slots[top.slot];
        slot_free(hp, top.slot);
        if (!sl.live)
            continue;
        hp->slots[top.slot].live = 0;
        k->now = top.time;
        k->events_run++;
        max_events--;
        if (sl.kind == EV_PY) {
            k->py_slot = top.slot;
            return VS_RUN_PY;
        }
        if (sl.kind == EV_C) {
            /* (the function may schedule and cancel: sl is a copy) */
            if (sl.fn(sl.ctx, top.time, sl.arg) && !k->err)
                k->err = VS_ERR_C_EVENT;
        } else {
            handle(k, sl.kind, sl.a, sl.b);
        }
        if (k->err)
            return VS_RUN_ERR;
    }
    return VS_RUN_DONE;
}

int64_t
vs_peek(vs *k)
{
    struct vs_kernel_heap *hp = k->heap;
    while (hp->n && !hp->slots[hp->h[0].slot].live) {
        slot_free(hp, hp->h[0].slot);
        heap_pop(hp);
    }
    return hp->n ? hp->h[0].time : -1;
}

vs *
vs_new(void)
{
    vs *k = xcalloc(1, sizeof(*k));
    k->heap = xcalloc(1, sizeof(*k->heap));
    k->current = -1;
    k->bal_slot = -1;
    k->fast_paths = 1;
    k->fair_shortcut = 1;
    return k;
}

void
vs_free(vs *k)
{
    if (!k)
        return;
    for (int i = 0; i < k->nthreads; i++) {
        vs_thread *t = k->threads[i];
        free(t->runq_waits.v);
        free(t->wake_latencies.v);
        free(t->runq_wait_by_s.v);
        free(t->fe);
        free(t);
    }
    free(k->threads);
    for (int i = 0; i < k->nsignals; i++)
        free(k->signals[i].waiters);
    free(k->signals);
    for (int i = 0; i < k->ngroups; i++) {
        free(k->groups[i].avg);
        free(k->groups[i].stamp);
        free(k->groups[i].runnable);
    }
    free(k->groups);
    for (int i = 0; i < k->ncores; i++) {
        vs_core *c = &k->cores[i];
        for (int p = 0; p < 100; p++)
            free(c->rt_levels[p]);
        struct vs_fairrq *rq = c->fair;
        for (int g = 0; g < rq->ngroups; g++) {
            if (rq->groups[g]) {
                free(rq->groups[g]->child->ents);
                free(rq->groups[g]->child);
                free(rq->groups[g]);
            }
        }
        free(rq->groups);
        free(rq->root.ents);
        free(rq);
    }
    free(k->cores);
    free(k->dirty_list);
    free(k->heap->h);
    free(k->heap->slots);
    free(k->heap->free);
    free(k->heap);
    free(k);
}

int32_t
vs_config(vs *k, int32_t ncores, int64_t slice_ns, int64_t tick_ns,
          int64_t context_switch_ns, int32_t throttle_mode,
          int64_t rt_period_ns, int64_t rt_runtime_ns,
          int64_t rr_slice_ns, int64_t balance_interval_ns)
{
    k->ncores = ncores;
    k->slice_ns = slice_ns;
    k->tick_ns = tick_ns;
    k->ctx_ns = context_switch_ns;
    k->throttle = throttle_mode;
    k->rt_period = rt_period_ns;
    k->rt_runtime = rt_runtime_ns;
    k->rr_slice = rr_slice_ns;
    k->balance_interval = balance_interval_ns;
    k->cores = xcalloc(ncores, sizeof(vs_core));
    k->dirty_list = xcalloc(ncores + 1, sizeof(int32_t));
    for (int i = 0; i < ncores; i++) {
        vs_core *c = &k->cores[i];
        c->index = i;
        c->curr = c->last = -1;
        c->rt_window = -1;
        c->ev_slot = -1;
        c->fair = xcalloc(1, sizeof(struct vs_fairrq));
        fair_init(k, c->fair, i);
    }
    return 0;
}

/* -- signals (threads.py Signal) ---------------------------------------- */
int32_t
vs_signal(vs *k)
{
    k->signals = xrealloc(k->signals, (k->nsignals + 1) * sizeof(struct vs_signal));
    memset(&k->signals[k->nsignals], 0, sizeof(struct vs_signal));
    return k->nsignals++;
}

int64_t
vs_signal_count(vs *k, int32_t sig)
{
    return k->signals[sig].count;
}

static int32_t
waiter_pop(struct vs_signal *s, int32_t i)
{
    int32_t t = s->waiters[i];
    memmove(&s->waiters[i], &s->waiters[i + 1], (s->n - i - 1) * sizeof(int32_t));
    s->n--;
    return t;
}

void
vs_post(vs *k, int32_t sig)
{
    struct vs_signal *s = &k->signals[sig];
    while (s->n) {
        if (vs_wake(k, waiter_pop(s, 0)))
            return;
        s = &k->signals[sig];
    }
    s->count++;
}

void
signal_time_out(vs *k, int32_t sig, int32_t t)
{
    struct vs_signal *s = &k->signals[sig];
    k->threads[t]->timer_slot = -1;
    for (int32_t i = 0; i < s->n; i++) {
        if (s->waiters[i] == t) {
            waiter_pop(s, i);
            k->threads[t]->timed_out = 1;
            vs_wake(k, t);
            return;
        }
    }
}

void
vs_wake_all(vs *k, int32_t sig)
{
    struct vs_signal *s = &k->signals[sig];
    int32_t n = s->n, *w = s->waiters;
    s->waiters = NULL;
    s->n = s->cap = 0;
    for (int32_t i = 0; i < n; i++)
        vs_wake(k, w[i]);
    free(w);
}

void
vs_wait(vs *k, int32_t ti, int32_t sig, int64_t until)
{
    vs_thread *t = k->threads[ti];
    struct vs_signal *s = &k->signals[sig];
    t->timed_out = 0;
    if (s->count > 0) {
        s->count--;
        t->remaining = 0;
        return;
    }
    if (until != VS_NONE && until <= k->now) {
        t->timed_out = 1;
        t->remaining = 0;
        return;
    }
    t->state = VS_BLOCKED;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 8;
        s->waiters = xrealloc(s->waiters, s->cap * sizeof(int32_t));
    }
    s->waiters[s->n++] = ti;
    if (until != VS_NONE) {
        t->timer_slot = kern_schedule(k, until, 0, EV_TIMEOUT, ti, sig);
        t->timer_seq = k->last_seq;
    }
}

/* -- read-outs for the Python facades ------------------------------------- */
int32_t
vs_signal_nwait(vs *k, int32_t sig)
{
    return k->signals[sig].n;
}

int32_t
vs_signal_waiter(vs *k, int32_t sig, int32_t i)
{
    return k->signals[sig].waiters[i];
}

void
vs_signal_time_out(vs *k, int32_t sig, int32_t t)
{
    signal_time_out(k, sig, t);
}

int32_t
vs_core_load(vs *k, int32_t core)
{
    return core_load(&k->cores[core]);
}
