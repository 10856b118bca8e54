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

typedef int64_t (*deliver_fn)(void *node, int64_t at_ns, const uint8_t *data, size_t len,
                              int32_t seq, int64_t count, int64_t low, int64_t high);
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

/* The plan's n blocks: their messages, and whether they may go the C
 * way (timed motion only, for the node's C arrival); any other plan is
 * committed by Python (_commit: the Block objects, the messages the
 * thread notes, the node's Python arrival). */
static int64_t
plan_messages(struct serialq_prog *p, int32_t n, int32_t *motion_only)
{
    int64_t m = 0;
    *motion_only = 1;
    for (int32_t b = 0; b < n; b++) {
        const int64_t *s = p->summaries + 5 * b;   /* count timed low high ntags */
        if (s[4] || !s[1])
            *motion_only = 0;
        m += s[0];
    }
    return m;
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
    messages = plan_messages(p, n, &p->motion_only);
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
    if (linkio_retransmit_due(p->l, now) || !p->motion_only
            || (n && !((can_take_fn)p->can_take)(p->node, n))) {
        linkio_hand_back(p->l, 0, 1);
        return py_step(p, POINT_COMMIT, SQ_WAKE);
    }
    int32_t seq = *p->first_seq;
    linkio_native_commit(p->l, now, p->frames, p->records, p->summaries, p->arrivals);
    for (int32_t b = 0; b < n; b++) {
        const uint8_t *frame = p->frames + MSG_MAX * b;
        const int64_t *s = p->summaries + 5 * b;
        int64_t serial = ((deliver_fn)p->deliver)(p->node, p->arrivals[b], frame, frame[0],
                                                  (seq + b) & MSG_SEQ_MASK, s[1], s[2], s[3]);
        if (serial < 0)
            return VS_ERR_NATIVE;      /* (can_take said it would) */
        linkio_note_serial(p->l, n, b, serial);
    }
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
