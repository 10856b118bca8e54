/* SCHED_OTHER run queues with EEVDF picking and task-group shares: the C
 * port of sim/hostcpu/eevdf.py (EevdfQueue, FairRunQueue) and groups.py
 * (TaskGroup).  The rules and their sources are documented there; this
 * file repeats the integer arithmetic exactly (Python's floor division,
 * 128-bit products where Python's ints would exceed 64 bits) and the
 * group load averages with the same double operations in the same order.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "vs_internal.h"

#define VUNIT (1024LL << 10)          /* eevdf.py VUNIT */
#define LOAD_HALF_LIFE_NS (32 * 1024000LL)
#define MIN_SHARES 2

struct vs_entity *
fair_entity_new(int64_t weight, int64_t slice_ns, int32_t thread)
{
    struct vs_entity *e = xcalloc(1, sizeof(*e));
    e->weight = weight;
    e->slice_ns = slice_ns;
    e->thread = thread;
    e->tg = -1;
    return e;
}

/* -- task groups ------------------------------------------------------- */
void
group_init(vs *k, struct vs_group *g, int64_t shares)
{
    g->shares = shares;
    g->avg = xcalloc(k->ncores, sizeof(double));
    g->stamp = xcalloc(k->ncores, sizeof(int64_t));
    g->runnable = xcalloc(k->ncores, sizeof(int64_t));
}

static void
group_advance(struct vs_group *g, int32_t core, int64_t now)
{
    int64_t dt = now - g->stamp[core];
    if (dt > 0) {
        double decay = pow(2.0, (double)(-dt) / (double)LOAD_HALF_LIFE_NS);
        g->avg[core] = g->avg[core] * decay
            + (double)g->runnable[core] * (1.0 - decay);
        g->stamp[core] = now;
    }
}

void
group_set_runnable(struct vs_group *g, int32_t core, int64_t w, int64_t now)
{
    group_advance(g, core, now);
    g->runnable[core] = w;
}

static int64_t
group_weight_on(vs *k, struct vs_group *g, int32_t core, int64_t now)
{
    double total = 0.0;
    for (int32_t c = 0; c < k->ncores; c++) {
        group_advance(g, c, now);
        total += g->avg[c];
    }
    double avg = g->avg[core];
    int64_t runnable = g->runnable[core];
    double load = (double)runnable > avg ? (double)runnable : avg;
    double tg_weight = total - avg + load;
    if (tg_weight <= 0.0)
        return g->shares;
    int64_t shares = (int64_t)((double)g->shares * load / tg_weight);
    if (shares < MIN_SHARES)
        shares = MIN_SHARES;
    return shares < g->shares ? shares : g->shares;
}

/* -- one EEVDF level ------------------------------------------------- */
static void
q_append(struct vs_queue *q, struct vs_entity *e)
{
    if (q->n == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 8;
        q->ents = xrealloc(q->ents, q->cap * sizeof(*q->ents));
    }
    q->ents[q->n++] = e;
}

static void
q_remove(struct vs_queue *q, struct vs_entity *e)
{
    for (int32_t i = 0; i < q->n; i++) {
        if (q->ents[i] == e) {
            memmove(&q->ents[i], &q->ents[i + 1], (q->n - i - 1) * sizeof(*q->ents));
            q->n--;
            return;
        }
    }
}

static void
q_enqueue(struct vs_queue *q, struct vs_entity *e)
{
    int64_t load = q->load;
    int64_t avg = load ? (int64_t)floordiv128(q->wsum, load) : q->last_v;
    i128 lag = e->vlag;
    if (load)
        lag = floordiv128(lag * (load + e->weight), load);
    e->v = avg - (int64_t)lag;
    e->vd = e->v + floordiv64(e->slice_ns * VUNIT, e->weight);
    e->protect = 0;
    e->queued = 1;
    q_append(q, e);
    q->load += e->weight;
    q->wsum += (i128)e->weight * e->v;
}

static void
q_dequeue(struct vs_queue *q, struct vs_entity *e, int64_t tick_ns)
{
    int64_t w = e->weight;
    int64_t avg = (int64_t)floordiv128(q->wsum, q->load);
    q->last_v = avg;
    int64_t span = 2 * e->slice_ns;
    int64_t limit = floordiv64((span > tick_ns ? span : tick_ns) * VUNIT, w);
    int64_t lag = avg - e->v;
    e->vlag = lag > limit ? limit : (lag < -limit ? -limit : lag);
    q_remove(q, e);
    q->load -= w;
    q->wsum -= (i128)w * e->v;
    e->queued = 0;
    e->protect = 0;
    if (q->curr == e)
        q->curr = NULL;
}

static struct vs_entity *
q_pick(struct vs_queue *q)
{
    int64_t load = q->load;
    if (!load)
        return NULL;
    i128 weighted = q->wsum;
    struct vs_entity *curr = q->curr;
    if (curr && curr->protect && (i128)curr->v * load <= weighted)
        return curr;
    struct vs_entity *best = NULL;
    for (int32_t i = 0; i < q->n; i++) {
        struct vs_entity *e = q->ents[i];
        if ((i128)e->v * load <= weighted && (!best || e->vd < best->vd))
            best = e;
    }
    return best;
}

static int
q_charge(struct vs_queue *q, struct vs_entity *e, int64_t delta)
{
    int64_t w = e->weight;
    int64_t dv = (int64_t)floordiv128((i128)delta * VUNIT, w);
    e->v += dv;
    q->wsum += (i128)dv * w;
    if (e->v >= e->vd) {
        e->vd = e->v + floordiv64(e->slice_ns * VUNIT, w);
        e->protect = 0;
        return 1;
    }
    return 0;
}

static void
q_reweight(struct vs_queue *q, struct vs_entity *e, int64_t weight)
{
    int64_t old = e->weight;
    if (old == weight)
        return;
    if (e->queued) {
        int64_t avg = (int64_t)floordiv128(q->wsum, q->load);
        int64_t v_old = e->v;
        e->v = avg - (int64_t)floordiv128((i128)(avg - v_old) * old, weight);
        e->vd = e->v + (int64_t)floordiv128((i128)(e->vd - v_old) * old, weight);
        q->load += weight - old;
        q->wsum += (i128)weight * e->v - (i128)old * v_old;
    } else {
        e->vlag = (int64_t)floordiv128((i128)e->vlag * old, weight);
    }
    e->weight = weight;
}

static int64_t
ns_to_deadline(struct vs_entity *e)
{
    i128 gap = e->vd - e->v;
    int64_t ns = (int64_t)(-floordiv128(-gap * e->weight, VUNIT));
    return ns > 1 ? ns : 1;
}

/* -- one core's fair queue (FairRunQueue) ------------------------------ */
void
fair_init(vs *k, struct vs_fairrq *rq, int32_t core)
{
    rq->core = core;
}

static struct vs_entity *
group_entity(vs *k, struct vs_fairrq *rq, vs_thread *t)
{
    if (t->group >= rq->ngroups) {
        rq->groups = xrealloc(rq->groups, (t->group + 1) * sizeof(*rq->groups));
        memset(&rq->groups[rq->ngroups], 0,
               (t->group + 1 - rq->ngroups) * sizeof(*rq->groups));
        rq->ngroups = t->group + 1;
    }
    struct vs_entity *ge = rq->groups[t->group];
    if (!ge) {
        ge = fair_entity_new(k->groups[t->group].shares, t->fe->slice_ns, -1);
        ge->child = xcalloc(1, sizeof(struct vs_queue));
        ge->tg = t->group;
        rq->groups[t->group] = ge;
    }
    return ge;
}

static void
reweight_group(vs *k, struct vs_fairrq *rq, struct vs_entity *ge, int64_t now)
{
    ge->stamp = now;
    if (rq->root.n > (ge->queued ? 1 : 0))
        q_reweight(&rq->root, ge,
                   group_weight_on(k, &k->groups[ge->tg], rq->core, now));
}

static void
reweight_root_groups(vs *k, struct vs_fairrq *rq, int64_t now)
{
    for (int32_t i = 0; i < rq->root.n; i++)
        if (rq->root.ents[i]->tg >= 0)
            reweight_group(k, rq, rq->root.ents[i], now);
}

void
fair_enqueue(vs *k, struct vs_fairrq *rq, vs_thread *t)
{
    int64_t now = k->now;
    rq->nr++;
    if (t->group < 0) {
        if (rq->root.n == 1)
            reweight_root_groups(k, rq, now);
        q_enqueue(&rq->root, t->fe);
        return;
    }
    struct vs_entity *ge = group_entity(k, rq, t);
    q_enqueue(ge->child, t->fe);
    group_set_runnable(&k->groups[ge->tg], rq->core, ge->child->load, now);
    if (ge->queued) {
        reweight_group(k, rq, ge, now);
        return;
    }
    if (rq->root.n == 1)
        reweight_root_groups(k, rq, now);
    reweight_group(k, rq, ge, now);
    q_enqueue(&rq->root, ge);
}

void
fair_dequeue(vs *k, struct vs_fairrq *rq, vs_thread *t)
{
    int64_t now = k->now;
    rq->nr--;
    if (t->group < 0) {
        q_dequeue(&rq->root, t->fe, k->tick_ns);
        return;
    }
    struct vs_entity *ge = rq->groups[t->group];
    q_dequeue(ge->child, t->fe, k->tick_ns);
    group_set_runnable(&k->groups[ge->tg], rq->core, ge->child->load, now);
    if (!ge->child->n)
        q_dequeue(&rq->root, ge, k->tick_ns);
    else
        reweight_group(k, rq, ge, now);
}

vs_thread *
fair_pick(vs *k, struct vs_fairrq *rq)
{
    struct vs_entity *e;
    if (rq->nr == 1 && k->fair_shortcut) {
        e = rq->root.ents[0];
        if (e->child)
            e = e->child->ents[0];
        return k->threads[e->thread];
    }
    e = q_pick(&rq->root);
    if (!e)
        return NULL;
    if (e->child)
        e = q_pick(e->child);
    return e ? k->threads[e->thread] : NULL;
}

void
fair_set_running(vs *k, struct vs_fairrq *rq, vs_thread *t)
{
    struct vs_queue *root = &rq->root;
    struct vs_entity *old = root->curr;
    if (!t) {
        if (old && old->child)
            old->child->curr = NULL;
        root->curr = NULL;
        return;
    }
    struct vs_entity *ge = t->group >= 0 ? rq->groups[t->group] : NULL;
    if (old && old->child && old != ge)
        old->child->curr = NULL;
    if (!ge) {
        root->curr = t->fe;
        t->fe->protect = 1;
    } else {
        root->curr = ge;
        ge->protect = 1;
        ge->child->curr = t->fe;
        t->fe->protect = 1;
    }
}

int
fair_charge(vs *k, struct vs_fairrq *rq, vs_thread *t, int64_t delta)
{
    if (t->group < 0)
        return q_charge(&rq->root, t->fe, delta);
    struct vs_entity *ge = rq->groups[t->group];
    int expired = q_charge(ge->child, t->fe, delta);
    expired |= q_charge(&rq->root, ge, delta);
    if (k->now - ge->stamp >= k->tick_ns)
        reweight_group(k, rq, ge, k->now);
    return expired;
}

int64_t
fair_ns_to_slice_end(struct vs_fairrq *rq, vs_thread *t)
{
    int64_t ns = ns_to_deadline(t->fe);
    if (t->group >= 0) {
        int64_t g = ns_to_deadline(rq->groups[t->group]);
        if (g < ns)
            ns = g;
    }
    return ns;
}

int
fair_has_competition(struct vs_fairrq *rq, vs_thread *t)
{
    if (rq->root.n > 1)
        return 1;
    return t->group >= 0 && rq->groups[t->group]->child->n > 1;
}
