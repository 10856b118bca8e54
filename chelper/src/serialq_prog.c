/* The serial queue thread's common wake in C (see serialq_prog.h).
 * `phase` says what the thread's next step is: a wake (SQ_WAKE), the
 * native commit after its burst (SQ_COMMIT), or Python's _commit after
 * a wake Python ran (SQ_PY). */
#include <stdlib.h>
#include "msgblock.h"
#include "serialq_prog.h"
#include "serialq_resp.h"
#include "vs_internal.h"
#include "vsprog.h"
#include "xalloc.h"

#define NEVER (1LL << 62)          /* serial_link.py's NEVER: no wake planned */
enum { SQ_WAKE = 0, SQ_COMMIT, SQ_PY };
enum { POINT_WAKE = 0, POINT_COMMIT = 1 };

typedef int32_t (*can_take_fn)(void *node, int32_t blocks);

/* Python runs this step (its continuation: _resume, reading `point`, or
 * _loop's commit); `next` is the program's phase after it. */
static int32_t
py_step(struct serialq_prog *p, int32_t point, int32_t next)
{
    p->point = point;
    p->phase = next;
    if (point == POINT_COMMIT)
        p->py_commits++;
    else if (next == SQ_PY)
        p->py_wakes++;
    if (vs_py_step(p->k->ud, p->thread, 0, 0)) {
        p->k->err = 1;                 /* the Python side holds the error */
        return 1;
    }
    return 0;
}

typedef int64_t (*deliver_fn)(void *node, int64_t at_ns, const uint8_t *data, size_t len,
                              int32_t seq, int32_t has_motion, int64_t count, int64_t low,
                              int64_t high, const struct sq_gen_fw *gen, int32_t ngen);

/* The summary of a generic message by its tag, or NULL (none written,
 * or only Python may send it). */
static const struct sq_gen *
gen_of(const struct serialq_prog *p, int32_t tag)
{
    const struct sq_gen *g = &p->gens[tag & (SQ_GENS - 1)];
    return g->key == tag + 1 && !(g->flags & SQG_PY) ? g : NULL;
}

/* May a block (its summary s, its tags) be committed in C?  Timed motion
 * or generic messages the node's C arrival takes (McuNode.deliver_block
 * would hand it to fw_node_deliver(_gen)), none that only Python sends. */
static int32_t
c_block(const struct serialq_prog *p, const int64_t *s, const int32_t *tags)
{
    if (!s[4])
        return s[1] != 0;
    if (!p->gens)
        return 0;
    int32_t ngen = 0;
    for (int64_t i = 0; i < s[4]; i++) {
        const struct sq_gen *g = gen_of(p, tags[i]);
        if (!g)
            return 0;
        ngen += !(g->flags & SQG_NONE);
    }
    return ngen <= SQ_GEN_MAX;
}

/* The plan's n blocks: their messages, and whether they may all go the
 * C way (c_block); any other plan is committed by Python (_commit: the
 * Block objects, the messages the thread notes, the node's arrival). */
static int64_t
plan_messages(struct serialq_prog *p, int32_t n, int32_t *c_way)
{
    int64_t m = 0;
    const int32_t *tags = p->tags;
    *c_way = 1;
    for (int32_t b = 0; b < n; b++) {
        const int64_t *s = p->summaries + 5 * b;   /* count timed low high ntags */
        if (*c_way && !c_block(p, s, tags))
            *c_way = 0;
        tags += s[4];
        m += s[0];
    }
    return m;
}

/* The plan's query mask (bit b: block b carries a get_clock). */
static int32_t
query_mask(const struct serialq_prog *p, int32_t n)
{
    int32_t mask = 0;
    const int32_t *tags = p->tags;
    for (int32_t b = 0; b < n; b++) {
        int64_t ntags = p->summaries[5 * b + 4];
        for (int64_t i = 0; i < ntags; i++)
            if (gen_of(p, tags[i])->flags & SQG_QUERY)
                mask |= 1 << b;
        tags += ntags;
    }
    return mask;
}

/* A block's struct fw_gen[] (McuNode's _scheduled, from the summaries):
 * how many. */
static int32_t
block_gens(const struct serialq_prog *p, const int32_t *tags, int64_t ntags,
           struct sq_gen_fw *out)
{
    int32_t ngen = 0;
    for (int64_t i = 0; i < ntags; i++) {
        const struct sq_gen *g = gen_of(p, tags[i]);
        if (g->flags & SQG_NONE)
            continue;
        out[ngen].sched = g->sched;
        out[ngen].klass = g->klass;
        out[ngen].oid = g->oid;
        out[ngen].extends = g->extends;
        ngen++;
    }
    return ngen;
}

static int32_t
wake_step(struct serialq_prog *p)
{
    vs *k = p->k;
    int64_t now = k->now, messages = 0;
    const struct linkio_rx *rx = linkio_input_all(p->l, now);
    int64_t responses = 0;
    if ((rx->n && (!p->resp || (responses = serialq_resp_check(p->resp, rx)) < 0))
            || linkio_retransmit_due(p->l, now)) {
        linkio_hand_back(p->l, 1, 0);
        return py_step(p, POINT_WAKE, SQ_PY);
    }
    int32_t n = linkio_plan(p->l, p->q, now, p->frames, p->records, p->tags,
                            p->summaries, p->first_seq);
    messages = plan_messages(p, n, &p->c_way);
    if (rx->n) {                       /* (no hand-back from here on) */
        serialq_resp_take(p->resp, p->l, rx, now, responses);
        p->native_responses += responses;
    }
    /* SerialQueue._loop's cost, the same sum */
    int64_t cost = p->wake_ns + p->block_ns * (n + rx->chunks);
    if (n)
        cost += p->message_ns * messages;
    vs_compute(k, p->thread, vs_cost_ns(p->speed, cost), VS_NONE);
    p->phase = SQ_COMMIT;
    p->native_wakes++;
    return 0;
}

static int32_t
commit_step(struct serialq_prog *p)
{
    vs *k = p->k;
    int64_t now = k->now;
    int32_t n = linkio_planned(p->l);
    if (linkio_retransmit_due(p->l, now) || !p->c_way
            || (n && !((can_take_fn)p->can_take)(p->node, n))) {
        linkio_hand_back(p->l, 0, 1);
        return py_step(p, POINT_COMMIT, SQ_WAKE);
    }
    int32_t seq = *p->first_seq;
    linkio_native_commit(p->l, now, query_mask(p, n), p->frames, p->records, p->summaries,
                         p->arrivals);
    const int32_t *tags = p->tags;
    struct sq_gen_fw gen[SQ_GEN_MAX];
    int32_t generic = 0;
    for (int32_t b = 0; b < n; b++) {
        const uint8_t *frame = p->frames + MSG_MAX * b;
        const int64_t *s = p->summaries + 5 * b;
        int32_t ngen = s[4] ? block_gens(p, tags, s[4], gen) : 0;
        int32_t timed = s[1] != 0;
        generic |= s[4] != 0;
        tags += s[4];
        int64_t serial = ((deliver_fn)p->deliver)(p->node, p->arrivals[b], frame, frame[0],
                                                  (seq + b) & MSG_SEQ_MASK, timed,
                                                  timed ? s[1] : 0, timed ? s[2] : 0,
                                                  timed ? s[3] : 0, gen, ngen);
        if (serial < 0)
            return VS_ERR_NATIVE;      /* (can_take said it would) */
        linkio_note_serial(p->l, n, b, serial);
    }
    p->native_gen_commits += generic;
    if (p->resp) {                     /* the responses, as _commit's on_response */
        for (int64_t m = serialq_resp_commit(p->resp); m > 0; m--)
            vs_post(k, p->resp_signal);
    }
    int64_t wake = linkio_next_wake(p->l, p->q, now);
    p->planned_wake = wake < 0 ? NEVER : wake;
    vs_wait(k, p->thread, p->signal, wake < 0 ? VS_NONE : wake);
    p->phase = SQ_WAKE;
    return k->err != 0;
}

static int32_t
serialq_step(vs *k, int32_t t, int32_t kind, int64_t remaining, void *ctx)
{
    struct serialq_prog *p = ctx;
    (void)k, (void)t, (void)kind, (void)remaining;
    if (p->phase == SQ_PY)
        return py_step(p, POINT_WAKE, SQ_WAKE);
    if (p->phase == SQ_COMMIT)
        return commit_step(p);
    return wake_step(p);
}

struct serialq_prog *
serialq_prog_new(void)
{
    struct serialq_prog *p = xcalloc(1, sizeof(*p));
    p->thread = -1;
    return p;
}

void
serialq_prog_free(struct serialq_prog *p)
{
    free(p);
}

void
serialq_prog_attach(struct serialq_prog *p, int32_t thread, int32_t py_next)
{
    p->thread = thread;
    p->phase = py_next ? SQ_PY : SQ_WAKE;
    vs_set_native(p->k, thread, serialq_step, p);
}
