/* Where threads run and when RT may: wake-up placement, idle pull,
 * periodic balancing (the C port of sim/hostcpu/placement.py) and RT
 * throttling with the fair server (throttle.py).  The rules are
 * documented there; ties are broken exactly as their min()/sorted() keys
 * do. */
#include <stdlib.h>
#include "vs_internal.h"

static inline int
allowed(vs_thread *t, int32_t core)
{
    return (t->cpus >> core) & 1;
}

/* How important the work on a core is: -1 idle, 0 SCHED_OTHER, prio. */
static int
rank(vs *k, vs_core *c)
{
    vs_thread *top = core_top_rt(k, c);
    if (top)
        return top->priority;
    return c->fair->nr ? 0 : -1;
}

vs_core *
place_select_core(vs *k, vs_thread *t)
{
    vs_core *cores = k->cores;
    if (t->policy == VS_OTHER) {       /* the previous core is idle */
        vs_core *c = &cores[t->core];
        if (core_load(c) == 0 && allowed(t, t->core))
            return c;
    }
    int32_t prev = allowed(t, t->core) ? t->core : __builtin_ctzll(t->cpus);
    int32_t best = -1;
    int64_t bk0 = 0, bk1 = 0;
    if (t->policy != VS_OTHER) {
        for (int32_t i = 0; i < k->ncores; i++) {   /* key (rank, i != prev, i) */
            if (!allowed(t, i))
                continue;
            int64_t k0 = rank(k, &cores[i]), k1 = i != prev;
            if (best < 0 || k0 < bk0 || (k0 == bk0 && k1 < bk1)) {
                best = i;
                bk0 = k0;
                bk1 = k1;
            }
        }
        return &cores[best];
    }
    if (core_load(&cores[prev]) == 0)
        return &cores[prev];
    for (int32_t i = 0; i < k->ncores; i++)
        if (allowed(t, i) && core_load(&cores[i]) == 0)
            return &cores[i];
    for (int32_t i = 0; i < k->ncores; i++) {       /* key (load, i != prev, i) */
        if (!allowed(t, i))
            continue;
        int64_t k0 = core_load(&cores[i]), k1 = i != prev;
        if (best < 0 || k0 < bk0 || (k0 == bk0 && k1 < bk1)) {
            best = i;
            bk0 = k0;
            bk1 = k1;
        }
    }
    return &cores[best];
}

static void
migrate(vs *k, vs_thread *t, vs_core *dst)
{
    vs_core *src = &k->cores[t->core];
    sched_account(k, src);
    sched_dequeue(k, src, t);
    sched_enqueue_and_check(k, dst, t);
}

/* The SCHED_OTHER threads of a core, in queue order (placement.py
 * _fair_threads); returns how many were written to out. */
static int32_t
fair_threads(vs *k, vs_core *c, vs_thread **out)
{
    int32_t n = 0;
    struct vs_queue *root = &c->fair->root;
    for (int32_t i = 0; i < root->n; i++) {
        struct vs_entity *e = root->ents[i];
        if (!e->child) {
            out[n++] = k->threads[e->thread];
            continue;
        }
        for (int32_t j = 0; j < e->child->n; j++)
            out[n++] = k->threads[e->child->ents[j]->thread];
    }
    return n;
}

/* Runnable threads of a core that are not running, RT first. */
static int32_t
waiting(vs *k, vs_core *c, vs_thread **out)
{
    int32_t n = 0;
    for (int p = 99; p > 0; p--)
        for (int32_t i = 0; i < c->rt_n[p]; i++)
            if (c->rt_levels[p][i] != c->curr)
                out[n++] = k->threads[c->rt_levels[p][i]];
    int32_t base = n, nf = fair_threads(k, c, out + base);
    for (int32_t i = 0; i < nf; i++) {
        vs_thread *t = out[base + i];
        if (t->index != c->curr)
            out[n++] = t;
    }
    return n;
}

int
place_pull(vs *k, vs_core *core)
{
    int32_t src[64], ns = 0;
    for (int32_t i = 0; i < k->ncores; i++) {
        vs_core *c = &k->cores[i];
        if (c != core && c->curr >= 0 && core_load(c) >= 2) {
            /* sorted by (-load, index): insertion keeps index order */
            int32_t j = ns++;
            while (j > 0 && core_load(&k->cores[src[j - 1]]) < core_load(c)) {
                src[j] = src[j - 1];
                j--;
            }
            src[j] = i;
        }
    }
    if (!ns)
        return 0;
    vs_thread **buf = xmalloc(k->nthreads * sizeof(vs_thread *));
    vs_thread *best = NULL;
    for (int32_t s = 0; s < ns && !best; s++) {
        int32_t n = waiting(k, &k->cores[src[s]], buf);
        for (int32_t i = 0; i < n; i++) {
            if (allowed(buf[i], core->index)) {
                best = buf[i];
                break;
            }
        }
    }
    free(buf);
    if (!best)
        return 0;
    migrate(k, best, core);
    return 1;
}

void
place_arm_balance(vs *k)
{
    if (k->bal_slot < 0 && k->ncores > 1) {
        int64_t interval = k->balance_interval;
        int64_t at = (floordiv64(k->now, interval) + 1) * interval;
        k->bal_slot = kern_schedule(k, at, 0, EV_BALANCE, 0, 0);
        k->bal_seq = k->last_seq;
    }
}

static int
balance_from(vs *k, vs_core *src, vs_thread **buf)
{
    int32_t n = waiting(k, src, buf);
    for (int32_t i = 0; i < n; i++) {
        vs_thread *t = buf[i];
        if (t->policy == VS_OTHER)
            break;
        vs_core *dst = NULL;                /* key (rank, index) */
        int dr = 0;
        for (int32_t c = 0; c < k->ncores; c++) {
            if (!allowed(t, c))
                continue;
            int r = rank(k, &k->cores[c]);
            if (!dst || r < dr) {
                dst = &k->cores[c];
                dr = r;
            }
        }
        if (dr < t->priority) {
            migrate(k, t, dst);
            return 1;
        }
    }
    vs_thread *curr = TH(k, src->curr);
    int starved = src->rt_count > 0 && curr && curr->policy != VS_OTHER;
    n = fair_threads(k, src, buf);
    for (int32_t i = 0; i < n; i++) {
        vs_thread *t = buf[i];
        if (t->index == src->curr)
            continue;
        vs_core *dst = NULL;                /* key (fair.nr, index) */
        for (int32_t c = 0; c < k->ncores; c++) {
            vs_core *d = &k->cores[c];
            if (!allowed(t, c) || c == src->index || d->rt_count)
                continue;
            if (!dst || d->fair->nr < dst->fair->nr)
                dst = d;
        }
        if (!dst)
            continue;
        if (starved || dst->fair->nr + 2 <= src->fair->nr) {
            migrate(k, t, dst);
            return 1;
        }
    }
    return 0;
}

void
place_balance_tick(vs *k)
{
    k->bal_slot = -1;
    k->busy = 1;
    vs_thread **buf = xmalloc((k->nthreads + 1) * sizeof(vs_thread *));
    for (int32_t i = 0; i < k->ncores; i++)
        balance_from(k, &k->cores[i], buf);
    free(buf);
    k->busy = 0;
    sched_settle(k);
}

/* -- RT throttling (throttle.py) -------------------------------------------- */
static int
fair_boosted(vs *k, vs_core *c, int64_t now)
{
    if (!(c->rt_count && c->fair->nr)) {
        c->fs_set = 0;
        return 0;
    }
    int64_t period = k->rt_period;
    if (!c->fs_set) {
        c->fs_start = now;
        c->fs_set = 1;
    } else if (now >= c->fs_start + period) {
        c->fs_start += floordiv64(now - c->fs_start, period) * period;
    }
    return now >= c->fs_start + k->rt_runtime;
}

int
throttle_gate(vs *k, vs_core *c)
{
    if (!c->rt_count)
        return 0;
    if (k->throttle == VS_THR_CLASSIC)
        return c->rt_throttled_until <= k->now;
    if (k->throttle == VS_THR_FAIR_SERVER)
        return !fair_boosted(k, c, k->now);
    return 1;
}

void
throttle_charge_window(vs *k, vs_core *c, int64_t now, int64_t delta)
{
    int64_t period = k->rt_period;
    int64_t window = floordiv64(now, period);
    if (window != c->rt_window) {
        c->rt_window = window;
        int64_t into = now - window * period;
        c->rt_time = delta < into ? delta : into;
    } else {
        c->rt_time += delta;
    }
    if (c->rt_time >= k->rt_runtime) {
        c->rt_throttled_until = (window + 1) * period;
        c->need = 1;
    }
}

void
throttle_fair_served(vs *k, vs_core *c, int gate)
{
    vs_thread *curr = TH(k, c->curr);
    if (!curr || (curr->policy == VS_OTHER && (gate || !c->rt_count)))
        c->fs_set = 0;
}

int64_t
throttle_time(vs *k, vs_core *c, int64_t now)
{
    int64_t period = k->rt_period, runtime = k->rt_runtime;
    int64_t window = floordiv64(now, period);
    int64_t used = c->rt_window == window ? c->rt_time : 0;
    int64_t at = now + (runtime - used);
    int64_t window_end = (window + 1) * period;
    return at <= window_end ? at : window_end + runtime;
}
