// Merging step messages by clock (Klipper's steppersync, rewritten).
//
// A flush first compresses each registered compressor's queued steps up
// to the flush clock, as Klipper's steppersync_flush does.  Each step
// compressor of an MCU queues its own messages in order.  The
// MCU must receive them in one stream, ordered by the clock at which it
// needs each one (req_clock), so a flush repeatedly takes the compressor
// whose oldest queued message has the lowest req_clock; on a tie the
// compressor registered first wins.  A queue_step message (min_clock !=
// 0: it goes into the MCU's move queue) required after the flush clock
// stops the merge: it and everything queued behind it in every
// compressor stays queued for a later flush.  set_next_step_dir and
// reset_step_clock never stop it, even when required later.
//
// The merge leaves unsent messages in the compressors' own queues (they
// lead the next flush) and writes the sent ones into one batch buffer
// owned by the steppersync, with per-kind counts and per-compressor step
// totals, so Python hands a whole flush to its consumer in one object
// (host/motion_queuing.py; the format is documented in steppersync.h).
// Its reference model in Python is tests/test_steppersync.py.
#include <stdlib.h>
#include <string.h>
#include "steppersync.h"
#include "stepcompress_internal.h"

struct steppersync {
    struct stepcompress **scs;
    size_t *heads;              // per compressor: messages taken this flush
    int n_scs;
    struct ss_batch batch;
    size_t msgcap;
};

/****************************************************************
 * Registration
 ****************************************************************/

struct steppersync *
steppersync_new(void)
{
    struct steppersync *ss = calloc(1, sizeof(*ss));
    if (!ss)
        abort();
    return ss;
}

void
steppersync_free(struct steppersync *ss)
{
    if (!ss)
        return;
    free(ss->scs);
    free(ss->heads);
    free(ss->batch.msgs);
    free(ss->batch.steps);
    free(ss->batch.total_steps);
    free(ss->batch.oids);
    free(ss);
}

// Grow an array to n items of `size` bytes (abort on no memory).
static void *
grow(void *p, size_t n, size_t size)
{
    p = realloc(p, n * size);
    if (!p)
        abort();
    return p;
}

// Add a compressor; its rank among ties is its registration order.
int
steppersync_add(struct steppersync *ss, struct stepcompress *sc)
{
    int n = ss->n_scs + 1;
    ss->scs = grow(ss->scs, n, sizeof(*ss->scs));
    ss->heads = grow(ss->heads, n, sizeof(*ss->heads));
    ss->batch.steps = grow(ss->batch.steps, n, sizeof(*ss->batch.steps));
    ss->batch.total_steps = grow(ss->batch.total_steps, n,
                                 sizeof(*ss->batch.total_steps));
    ss->batch.total_steps[n - 1] = 0;
    ss->batch.oids = grow(ss->batch.oids, n, sizeof(*ss->batch.oids));
    ss->scs[n - 1] = sc;
    ss->batch.oids[n - 1] = sc->oid;
    ss->n_scs = ss->batch.n_steppers = n;
    return n - 1;
}

/****************************************************************
 * Flushing
 ****************************************************************/

// Index of the compressor whose next message has the lowest req_clock
// (the first registered on a tie), or -1 when all are taken.
static int
pick_next(struct steppersync *ss)
{
    int best = -1;
    uint64_t best_clock = 0;
    for (int i = 0; i < ss->n_scs; i++) {
        struct stepcompress *sc = ss->scs[i];
        if (ss->heads[i] >= sc->nmsgs)
            continue;
        uint64_t clock = sc->msgs[ss->heads[i]].req_clock;
        if (best < 0 || clock < best_clock) {
            best = i;
            best_clock = clock;
        }
    }
    return best;
}

// Append message m of compressor i to the batch.
static void
batch_append(struct steppersync *ss, int i, const struct sc_message *m)
{
    struct ss_batch *b = &ss->batch;
    if ((size_t)b->count == ss->msgcap) {
        ss->msgcap = ss->msgcap ? 2 * ss->msgcap : 1024;
        b->msgs = grow(b->msgs, ss->msgcap, sizeof(*b->msgs));
    }
    struct ss_message *out = &b->msgs[b->count];
    out->req_clock = m->req_clock;
    out->min_clock = m->min_clock;
    out->p0 = m->p0;
    out->p1 = m->p1;
    out->p2 = m->p2;
    out->kind = m->kind;
    out->oid = ss->batch.oids[i];
    if (m->kind == SC_MSG_RESET_STEP_CLOCK) {
        out->p0 = m->p0 & 0xffffffff;   // the wire's 32-bit clock
    } else if (m->kind == SC_MSG_QUEUE_STEP) {
        b->steps[i] += m->p1;
        b->total_steps[i] += m->p1;
    }
    if (m->kind <= SC_MSG_RESET_STEP_CLOCK) {
        if (!b->kind_count[m->kind]++)
            b->kind_first[m->kind] = b->count;
        b->total_kind[m->kind]++;
    }
    b->count++;
    b->total_count++;
}

// Drop the messages each compressor had taken from the front of its queue.
static void
consume_taken(struct steppersync *ss)
{
    for (int i = 0; i < ss->n_scs; i++) {
        struct stepcompress *sc = ss->scs[i];
        size_t n = ss->heads[i];
        if (!n)
            continue;
        memmove(sc->msgs, sc->msgs + n, (sc->nmsgs - n) * sizeof(*sc->msgs));
        sc->nmsgs -= n;
    }
}

// Flush every compressor up to flush_clock (stepcompress_flush), then
// merge their queued messages due by flush_clock into the batch (see the
// top of this file); the batch is valid until the next flush.  If a
// compressor fails, batch->failed names it and nothing is merged.
const struct ss_batch *
steppersync_flush(struct steppersync *ss, uint64_t flush_clock)
{
    struct ss_batch *b = &ss->batch;
    b->count = 0;
    b->failed = -1;
    for (int k = 0; k < 3; k++) {
        b->kind_count[k] = 0;
        b->kind_first[k] = -1;
    }
    for (int i = 0; i < ss->n_scs; i++) {
        ss->heads[i] = b->steps[i] = 0;
        if (stepcompress_flush(ss->scs[i], flush_clock)) {
            b->failed = i;
            return b;
        }
    }
    for (;;) {
        int i = pick_next(ss);
        if (i < 0)
            break;
        const struct sc_message *m = &ss->scs[i]->msgs[ss->heads[i]];
        if (m->kind == SC_MSG_QUEUE_STEP && m->min_clock
            && m->req_clock > flush_clock)
            break;
        batch_append(ss, i, m);
        ss->heads[i]++;
    }
    consume_taken(ss);
    return b;
}

/****************************************************************
 * Flattening for the encoders
 ****************************************************************/

// Write the batch's messages as integers for msgtext_format or
// msgblock_pack: per message, layouts[kind]'s prefix constants then its
// fields.  Returns the integers written, or -1 if cap is too small
// (SS_MAX_INTS_PER_MESSAGE per message always suffices) or a kind has
// no layout.
int64_t
steppersync_flatten(const struct ss_batch *batch,
                    const struct ss_layout *layouts, int64_t *ints,
                    int64_t cap)
{
    int64_t n = 0;
    for (int64_t j = 0; j < batch->count; j++) {
        int64_t one[SS_MAX_INTS_PER_MESSAGE];
        int k = ss_message_ints(&batch->msgs[j], layouts, one);
        if (k < 0 || n + k > cap)
            return -1;
        memcpy(ints + n, one, k * sizeof(*one));
        n += k;
    }
    return n;
}
