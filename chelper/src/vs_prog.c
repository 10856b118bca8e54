/* Native thread programs (see vsprog.h): the hook run_program calls,
 * the cost rule, the tty kworker and the step-generation threads.  Each
 * program is a small state machine whose `phase` says which step of the
 * Python reference (tests/_host_threads_model.py) runs next. */
#include <math.h>
#include <string.h>
#include "chunkbuf.h"
#include "vs_internal.h"
#include "vsprog.h"

void
vs_set_native(vs *k, int32_t t, vs_step_fn step, void *ctx)
{
    k->threads[t]->native = step;
    k->threads[t]->native_ctx = ctx;
}

/* HostCPU.cost_ns: round(reference_ns / cpu_speed), Python's round of a
 * float (ties to even: nearbyint in the default rounding mode) of the
 * int converted to a double and divided. */
int64_t
vs_cost_ns(double speed, int64_t reference_ns)
{
    return (int64_t)nearbyint((double)reference_ns / speed);
}

/* -- what every program keeps -------------------------------------------- */
enum { PH_START = 0, PH_RUN, PH_END };

struct prog {
    vs *k;
    int32_t thread, signal, phase;     /* phase: the next step (PH_*) */
    double speed;                      /* the machine's cpu_speed */
};

static void
prog_init(struct prog *p, vs *k, int32_t signal, double speed)
{
    *p = (struct prog){k, -1, signal, PH_START, speed};
}

/* Thread t runs the program (before it starts). */
static void
prog_attach(struct prog *p, int32_t thread, vs_step_fn step, void *ctx)
{
    p->thread = thread;
    vs_set_native(p->k, thread, step, ctx);
}

/* The step after a burst: wait for the next post. */
static int32_t
prog_wait(struct prog *p)
{
    vs_wait(p->k, p->thread, p->signal, VS_NONE);
    p->phase = PH_RUN;
    return 0;
}

/* -- the tty kworker -------------------------------------------------------- */

struct kw_target { struct linkio *rx; int32_t signal; };
struct kw_port { struct kworker *w; int32_t target; };   /* kworker_sink's ctx */

struct kworker {
    struct prog p;
    int64_t chunk_ns;
    void *ud;                   /* the Python facade (kworker_py_deliver) */
    struct kw_target *targets;
    struct kw_port **ports;
    int32_t ntargets;
    /* chunks pushed, and those taken by the running burst; each with its
     * target (-1: delivered by Python) */
    struct chunkbuf pending, burst;
    int32_t *pending_to, *burst_to;
    int64_t to_cap;
};

static void
kworker_queue(struct kworker *w, int32_t target, const uint8_t *data, int32_t n)
{
    int64_t i = chunkbuf_add(&w->pending, data, n);
    if (i >= w->to_cap) {
        w->to_cap = w->pending.ncap;
        w->pending_to = xrealloc(w->pending_to, w->to_cap * sizeof(int32_t));
        w->burst_to = xrealloc(w->burst_to, w->to_cap * sizeof(int32_t));
    }
    w->pending_to[i] = target;
    vs_post(w->p.k, w->p.signal);
}

/* Hand the burst's chunks on, in push order (FACTS 8: the flip buffer's
 * data reaches the line discipline, and the reader is woken). */
static int32_t
kworker_deliver(struct kworker *w)
{
    struct chunkbuf *b = &w->burst;
    for (int64_t i = 0; i < b->n; i++) {
        int32_t target = w->burst_to[i];
        if (target < 0) {
            if (kworker_py_deliver(w->ud))
                return 1;               /* the Python side holds the error */
        } else {
            struct kw_target *to = &w->targets[target];
            int64_t start = chunkbuf_start(b, i);
            linkio_receive(to->rx, b->data + start, b->ends[i] - start);
            vs_post(w->p.k, to->signal);
        }
    }
    chunkbuf_clear(b);
    return 0;
}

static int32_t
kworker_step(vs *k, int32_t t, int32_t kind, int64_t remaining, void *ctx)
{
    struct kworker *w = ctx;
    if (w->p.phase == PH_RUN) {
        /* take every chunk pushed so far; the cost counts them */
        struct chunkbuf taken = w->pending;
        int32_t *taken_to = w->pending_to;
        w->pending = w->burst;          /* (empty: delivered at its end) */
        w->pending_to = w->burst_to;
        w->burst = taken;
        w->burst_to = taken_to;
        int64_t chunks = taken.n > 1 ? taken.n : 1;
        vs_compute(k, t, vs_cost_ns(w->p.speed, w->chunk_ns * chunks), VS_NONE);
        w->p.phase = PH_END;
        return 0;
    }
    if (w->p.phase == PH_END && kworker_deliver(w))
        return 1;
    return prog_wait(&w->p);
}

struct kworker *
kworker_new(vs *k, int32_t signal, int64_t chunk_ns, double speed, void *ud)
{
    struct kworker *w = xcalloc(1, sizeof(*w));
    prog_init(&w->p, k, signal, speed);
    w->chunk_ns = chunk_ns;
    w->ud = ud;
    return w;
}

void
kworker_free(struct kworker *w)
{
    if (!w)
        return;
    chunkbuf_free(&w->pending);
    chunkbuf_free(&w->burst);
    free(w->pending_to);
    free(w->burst_to);
    for (int32_t i = 0; i < w->ntargets; i++)
        free(w->ports[i]);
    free(w->ports);
    free(w->targets);
    free(w);
}

void
kworker_attach(struct kworker *w, int32_t thread)
{
    prog_attach(&w->p, thread, kworker_step, w);
}

/* A place chunks are delivered to: a serial queue's receive buffer and
 * its thread's signal. Returns its number for kworker_push. */
int32_t
kworker_target(struct kworker *w, struct linkio *rx, int32_t signal)
{
    w->targets = xrealloc(w->targets, (w->ntargets + 1) * sizeof(struct kw_target));
    w->targets[w->ntargets] = (struct kw_target){rx, signal};
    w->ports = xrealloc(w->ports, (w->ntargets + 1) * sizeof(struct kw_port *));
    w->ports[w->ntargets] = xmalloc(sizeof(struct kw_port));
    *w->ports[w->ntargets] = (struct kw_port){w, w->ntargets};
    return w->ntargets++;
}

/* n bytes received for `target` pass through the kworker. */
void
kworker_push(struct kworker *w, int32_t target, const uint8_t *data, int32_t n)
{
    kworker_queue(w, target, data, n);
}

/* The context of kworker_sink for `target` (kept by the kworker). */
void *
kworker_port(struct kworker *w, int32_t target)
{
    return w->ports[target];
}

/* An output sink (fw_node.h's int32_t sink(ctx, data, len)) pushing to
 * the port's target; non-zero when the run must stop (a wake it caused
 * ran a program step that failed). */
int32_t
kworker_sink(void *port, const uint8_t *data, size_t n)
{
    struct kw_port *p = port;
    kworker_push(p->w, p->target, data, (int32_t)n);
    return p->w->p.k->err != 0;
}

/* A chunk Python delivers (its bytes and callback stay in the facade,
 * in the same order). */
void
kworker_push_py(struct kworker *w)
{
    kworker_queue(w, -1, NULL, 0);
}

/* -- the step-generation threads ---------------------------------------- */
struct stepgen_prog {
    struct prog p;
    int32_t done;
    int64_t wake_ns, step_ns;
    int64_t *steps;             /* submitted batches: a ring of (steps, done) */
    int32_t *dones;
    int32_t head, n, cap;
};

static int32_t
stepgen_step(vs *k, int32_t t, int32_t kind, int64_t remaining, void *ctx)
{
    struct stepgen_prog *p = ctx;
    if (p->p.phase == PH_RUN) {
        if (!p->n)
            return VS_ERR_NATIVE;       /* woken with nothing submitted */
        int64_t steps = p->steps[p->head];
        p->done = p->dones[p->head];
        p->head = (p->head + 1) % p->cap;
        p->n--;
        vs_compute(k, t, vs_cost_ns(p->p.speed, p->wake_ns + steps * p->step_ns), VS_NONE);
        p->p.phase = PH_END;
        return 0;
    }
    if (p->p.phase == PH_END)
        vs_post(k, p->done);
    return prog_wait(&p->p);
}

struct stepgen_prog *
stepgen_prog_new(vs *k, int32_t signal, int64_t wake_ns, int64_t step_ns, double speed)
{
    struct stepgen_prog *p = xcalloc(1, sizeof(*p));
    prog_init(&p->p, k, signal, speed);
    p->wake_ns = wake_ns;
    p->step_ns = step_ns;
    return p;
}

void
stepgen_prog_free(struct stepgen_prog *p)
{
    if (!p)
        return;
    free(p->steps);
    free(p->dones);
    free(p);
}

void
stepgen_prog_attach(struct stepgen_prog *p, int32_t thread)
{
    prog_attach(&p->p, thread, stepgen_step, p);
}

/* A batch of `steps` for the thread; signal `done` is posted when it has
 * been charged. */
void
stepgen_submit(struct stepgen_prog *p, int64_t steps, int32_t done)
{
    if (p->n == p->cap) {               /* grow the ring, unrolled */
        int32_t cap = p->cap ? 2 * p->cap : 8;
        int64_t *s = xcalloc(cap, sizeof(int64_t));
        int32_t *d = xcalloc(cap, sizeof(int32_t));
        for (int32_t i = 0; i < p->n; i++) {
            s[i] = p->steps[(p->head + i) % p->cap];
            d[i] = p->dones[(p->head + i) % p->cap];
        }
        free(p->steps);
        free(p->dones);
        p->steps = s;
        p->dones = d;
        p->head = 0;
        p->cap = cap;
    }
    int32_t at = (p->head + p->n++) % p->cap;
    p->steps[at] = steps;
    p->dones[at] = done;
    vs_post(p->p.k, p->p.signal);
}

/* -- a periodic load thread (load.py spawn_periodic) -------------------- */
struct periodic_prog {
    struct prog p;
    int64_t work_ns, period_ns, start;
    int32_t catch_up;
};

/* PH_RUN: a period's work (all of it when work >= period: always busy);
 * PH_END: sleep until the next period start (a late one at once; with
 * catch_up the grid is kept, else it slips to now). */
static int32_t
periodic_step(vs *k, int32_t t, int32_t kind, int64_t remaining, void *ctx)
{
    struct periodic_prog *p = ctx;
    if (p->p.phase == PH_RUN) {
        if (p->work_ns >= p->period_ns) {
            vs_compute(k, t, p->period_ns, VS_NONE);
        } else {
            vs_compute(k, t, p->work_ns, VS_NONE);
            p->p.phase = PH_END;
        }
        return 0;
    }
    p->start += p->period_ns;
    if (!p->catch_up && p->start < k->now)
        p->start = k->now;
    vs_sleep_until(k, t, p->start);
    p->p.phase = PH_RUN;
    return 0;
}

struct periodic_prog *
periodic_prog_new(vs *k, int64_t work_ns, int64_t period_ns, int64_t first_ns,
                  int32_t catch_up)
{
    struct periodic_prog *p = xcalloc(1, sizeof(*p));
    prog_init(&p->p, k, -1, 1.);
    p->p.phase = PH_RUN;                /* its first step is a period's work */
    p->work_ns = work_ns;
    p->period_ns = period_ns;
    p->start = first_ns;
    p->catch_up = catch_up;
    return p;
}

void
periodic_prog_free(struct periodic_prog *p)
{
    free(p);
}

void
periodic_prog_attach(struct periodic_prog *p, int32_t thread)
{
    prog_attach(&p->p, thread, periodic_step, p);
}
