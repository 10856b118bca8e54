// The host side of the simulated serial link, per message: command
// queues, the release of messages whose min_clock passed, block
// building and framing (KLIPPER-FACTS 2.5, our reading; written from the
// facts, not from Klipper's serialqueue.c). sim/link/serialqueue.py keeps
// the per-block decisions (when to send, flow control, retransmits) and
// calls in here for everything done per message.
//
// Messages come in batches of int64 records (linkq_push): per message
//   kind, key, req_clock, min_clock, tag, n, ints[|n|]
// kind: LINKQ_GENERIC (a message Python keeps as an object, named by
// `tag`) or a motion message held only here (queue_step,
// set_next_step_dir, reset_step_clock); key: the command queue (the
// object's oid, -1 for the MCU's default queue); n > 0: message id and
// integer parameters, VLQ-encoded here; n < 0: -n pre-encoded bytes.
//
// A block holds the ready queue heads, lowest req_clock first (the
// queue created first wins ties), as many as fit in 59 payload bytes.
#include <stdlib.h>
#include <string.h>
#include "linkq.h"
#include "minheap.h"
#include "msgblock.h"


#define NO_CLOCK INT64_MIN
#define MAX_KEY 256                  // oids are %c
#define MIN_CLOCK_SPAN (3LL << 29)   // min_clock >= req_clock - this
#define CLOCK_DIFF_MAX (3LL << 28)   // far single steps (FACTS 2.6)

enum { ERR_NOMEM = -1, ERR_TOO_BIG = -2, ERR_KEY = -3, ERR_RECORD = -4,
       ERR_NO_IDS = -5 };

struct lq_msg {
    int64_t req_clock, min_clock, sched, end, queued_ns;
    int64_t params[4];              // oid and parameters (motion kinds)
    int32_t tag;
    uint8_t kind, len;
    uint8_t data[MSG_PAYLOAD_MAX];
};

struct lq_queue {
    struct lq_msg *msgs;
    int64_t head, count, cap;       // messages [head, head + count)
    int64_t released;               // leading messages whose min_clock passed
};

struct linkq {
    struct lq_queue *queues;        // in creation order
    int64_t nqueues, cap_queues;
    int32_t index_of_key[MAX_KEY + 1];   // key + 1 -> queue index, or -1
    int64_t ready_bytes;            // bytes of the released messages
    int64_t pending;                // messages queued
    int64_t *slots;                 // move-slot min-heap (free clocks)
    int32_t nslots;
    int32_t step_ids[3];            // message ids by steppersync kind, or -1
};

struct linkq *
linkq_new(void)
{
    struct linkq *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    for (int i = 0; i <= MAX_KEY; i++)
        q->index_of_key[i] = -1;
    for (int k = 0; k < 3; k++)
        q->step_ids[k] = -1;
    return q;
}

void
linkq_free(struct linkq *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->nqueues; i++)
        free(q->queues[i].msgs);
    free(q->queues);
    free(q->slots);
    free(q);
}

/****************************************************************
 * Queues
 ****************************************************************/

// Double an array's capacity (to `first` when empty); nonzero on failure.
static int
grow(void **array, int64_t *cap, size_t size, int64_t first)
{
    int64_t n = *cap ? 2 * *cap : first;
    void *p = realloc(*array, n * size);
    if (!p)
        return -1;
    *array = p;
    *cap = n;
    return 0;
}

// The queue for `key`, created on first use (creation order decides
// ties between equal req_clocks, as the Python model's dict order did).
static struct lq_queue *
queue_for(struct linkq *q, int64_t key)
{
    if (key < -1 || key >= MAX_KEY)
        return NULL;
    int32_t idx = q->index_of_key[key + 1];
    if (idx >= 0)
        return &q->queues[idx];
    if (q->nqueues == q->cap_queues
        && grow((void **)&q->queues, &q->cap_queues, sizeof(*q->queues), 16))
        return NULL;
    idx = q->nqueues++;
    memset(&q->queues[idx], 0, sizeof(q->queues[idx]));
    q->index_of_key[key + 1] = idx;
    return &q->queues[idx];
}

// Room for one more message at the tail.
static struct lq_msg *
queue_append(struct lq_queue *qu)
{
    if (qu->head + qu->count == qu->cap) {
        if (qu->head && qu->head >= qu->count) {
            memmove(qu->msgs, qu->msgs + qu->head, qu->count * sizeof(*qu->msgs));
            qu->head = 0;
        } else if (grow((void **)&qu->msgs, &qu->cap, sizeof(*qu->msgs), 64)) {
            return NULL;
        }
    }
    return &qu->msgs[qu->head + qu->count++];
}

/****************************************************************
 * Move slots (steppersync's rule, FACTS 2.5)
 ****************************************************************/

void
linkq_init_slots(struct linkq *q, int32_t count)
{
    free(q->slots);
    q->slots = calloc(count > 0 ? count : 1, sizeof(*q->slots));
    q->nslots = q->slots ? (count > 0 ? count : 1) : 0;
}

// The earliest slot-free clock; the slot is refilled with `clock`
// (a min-heap: only the smallest value and the multiset matter).
static int64_t
take_slot(struct linkq *q, int64_t clock)
{
    return minheap_replace(q->slots, q->nslots, clock);
}

/****************************************************************
 * Pushing messages
 ****************************************************************/

// A queue_step's clocks: min_clock from its move slot, the clock its
// first step acts at and the clock of its last step (FACTS 2.6: a
// single step at least CLOCK_DIFF_MAX after the previous is requested at
// its own clock).
static void
queue_step_clocks(struct linkq *q, struct lq_msg *m)
{
    int64_t interval = m->params[1], count = m->params[2], add = m->params[3];
    if (m->min_clock && q->slots)
        m->min_clock = take_slot(q, m->req_clock);
    if (!m->req_clock)
        return;
    int64_t base = interval >= CLOCK_DIFF_MAX ? m->req_clock - interval : m->req_clock;
    m->sched = base + interval;
    m->end = m->sched + (count - 1) * interval + add * (count * (count - 1) / 2);
}

// A queued message's final clocks: a queue_step's slot and step clocks,
// and every min_clock kept within MIN_CLOCK_SPAN of its req_clock (the
// 32-bit MCU clock stays unambiguous, FACTS 2.5).
static void
settle_clocks(struct linkq *q, struct lq_msg *m)
{
    if (m->kind == LINKQ_QUEUE_STEP)
        queue_step_clocks(q, m);
    if (m->min_clock + MIN_CLOCK_SPAN < m->req_clock)
        m->min_clock = m->req_clock - MIN_CLOCK_SPAN;
}

// Encode one record's message into m->data; returns ints consumed or <0.
static int64_t
encode_record(struct lq_msg *m, const int64_t *ints, int64_t avail, int64_t n)
{
    int64_t count = n > 0 ? n : -n;
    if (count > avail || count > MSG_MAX)
        return ERR_RECORD;
    uint8_t buf[MSG_MAX * 5];
    int len = 0;
    for (int64_t k = 0; k < count; k++) {
        if (n > 0)
            len += msgblock_encode_vlq(buf + len, ints[k]);
        else
            buf[len++] = ints[k];
    }
    if (len > MSG_PAYLOAD_MAX)
        return ERR_TOO_BIG;
    memcpy(m->data, buf, len);
    m->len = len;
    for (int k = 0; k < 4; k++)     // oid and parameters after the id
        m->params[k] = (n > 0 && k + 1 < count) ? ints[k + 1] : 0;
    return count;
}

// Queue a batch of records (see the top of the file). *first_req gets
// the lowest req_clock of the batch (0 if some message is untimed).
// Returns the messages queued, or a negative error.
int64_t
linkq_push(struct linkq *q, const int64_t *ints, int64_t n_ints,
           int64_t queued_ns, int64_t *first_req)
{
    int64_t i = 0, pushed = 0, low = INT64_MAX;
    while (i < n_ints) {
        if (i + 6 > n_ints)
            return ERR_RECORD;
        int64_t kind = ints[i], key = ints[i + 1];
        struct lq_queue *qu = queue_for(q, key);
        if (!qu)
            return ERR_KEY;
        struct lq_msg *m = queue_append(qu);
        if (!m)
            return ERR_NOMEM;
        m->kind = kind;
        m->req_clock = ints[i + 2];
        m->min_clock = ints[i + 3];
        m->tag = ints[i + 4];
        m->sched = m->end = NO_CLOCK;
        m->queued_ns = queued_ns;
        int64_t used = encode_record(m, ints + i + 6, n_ints - i - 6, ints[i + 5]);
        if (used < 0) {
            qu->count--;
            return used;
        }
        i += 6 + used;
        settle_clocks(q, m);
        if (m->req_clock < low)
            low = m->req_clock;
        pushed++;
    }
    q->pending += pushed;
    *first_req = low;
    return pushed;
}

// The message ids of queue_step, set_next_step_dir and reset_step_clock
// in this MCU's dictionary, for linkq_push_steps.
void
linkq_set_step_ids(struct linkq *q, int32_t queue_step, int32_t step_dir,
                   int32_t reset_clock)
{
    q->step_ids[SC_MSG_QUEUE_STEP] = queue_step;
    q->step_ids[SC_MSG_SET_NEXT_STEP_DIR] = step_dir;
    q->step_ids[SC_MSG_RESET_STEP_CLOCK] = reset_clock;
}

// Queue msgs[start, count) of a steppersync batch (steppersync.h) as
// linkq_push would queue the same messages as records. Stops before a
// queue_step that needs a move slot while no slots are set up, so the
// caller can size them (linkq_init_slots) then continue from there.
// *first_req gets the lowest req_clock queued. Returns the index it
// stopped at (count when done), or a negative error.
int64_t
linkq_push_steps(struct linkq *q, const struct ss_message *msgs,
                 int64_t start, int64_t count, int64_t queued_ns,
                 int64_t *first_req)
{
    int64_t low = INT64_MAX, i;
    for (i = start; i < count; i++) {
        const struct ss_message *s = &msgs[i];
        if (s->kind > SC_MSG_RESET_STEP_CLOCK || q->step_ids[s->kind] < 0)
            return ERR_NO_IDS;
        int is_step = s->kind == SC_MSG_QUEUE_STEP;
        if (is_step && s->min_clock && !q->slots)
            break;
        int64_t req = s->req_clock;
        struct lq_queue *qu = queue_for(q, req ? (int64_t)s->oid : -1);
        if (!qu)
            return ERR_KEY;
        struct lq_msg *m = queue_append(qu);
        if (!m)
            return ERR_NOMEM;
        int64_t ints[5] = { q->step_ids[s->kind], s->oid, s->p0, s->p1, s->p2 };
        m->kind = s->kind + LINKQ_QUEUE_STEP;    // (linkq kinds 1..3)
        m->req_clock = req;
        m->min_clock = s->min_clock;
        m->tag = -1;
        m->sched = m->end = NO_CLOCK;
        m->queued_ns = queued_ns;
        int64_t used = encode_record(m, ints, 5, is_step ? 5 : 3);
        if (used < 0) {
            qu->count--;
            return used;
        }
        settle_clocks(q, m);
        if (req < low)
            low = req;
        q->pending++;
    }
    *first_req = low;
    return i;
}

/****************************************************************
 * Releasing and building blocks
 ****************************************************************/

// Messages whose min_clock is at or before ack_clock become ready;
// returns the ready bytes of all queues.
int64_t
linkq_release(struct linkq *q, int64_t ack_clock)
{
    for (int32_t i = 0; i < q->nqueues; i++) {
        struct lq_queue *qu = &q->queues[i];
        struct lq_msg *msgs = qu->msgs + qu->head;
        int64_t r = qu->released;
        while (r < qu->count && msgs[r].min_clock <= ack_clock)
            q->ready_bytes += msgs[r++].len;
        qu->released = r;
    }
    return q->ready_bytes;
}

// The queue whose ready head has the lowest req_clock (first created on
// ties), or -1.
static int32_t
lowest_ready(struct linkq *q)
{
    int32_t best = -1;
    int64_t best_req = 0;
    for (int32_t i = 0; i < q->nqueues; i++) {
        struct lq_queue *qu = &q->queues[i];
        if (!qu->released)
            continue;
        int64_t req = qu->msgs[qu->head].req_clock;
        if (best < 0 || req < best_req) {
            best = i;
            best_req = req;
        }
    }
    return best;
}

int64_t
linkq_first_req(struct linkq *q)
{
    int32_t i = lowest_ready(q);
    return i < 0 ? INT64_MAX : q->queues[i].msgs[q->queues[i].head].req_clock;
}

// Write one message's record (LINKQ_RECORD_INTS ints) for the caller.
static void
write_record(const struct lq_msg *m, int64_t *r)
{
    r[0] = m->tag;
    r[1] = m->kind;
    r[2] = m->req_clock;
    r[3] = m->min_clock;
    r[4] = m->sched;
    r[5] = m->queued_ns;
    memcpy(r + 6, m->params, sizeof(m->params));
}

// Build one block of ready messages with sequence `seq` into frame
// (>= 64 bytes); records gets LINKQ_RECORD_INTS ints per message (room
// for 59 messages), tags the tags of its generic messages in order, and
// summary [messages, timed queue_steps, their lowest sched, their
// highest end, generic messages]. Returns the frame length (0: nothing
// ready).
int32_t
linkq_build(struct linkq *q, int32_t seq, uint8_t *frame,
            int64_t *records, int32_t *tags, int64_t *summary)
{
    int32_t len = 0, n = 0, timed = 0, ntags = 0;
    int64_t low = INT64_MAX, high = INT64_MIN;
    for (;;) {
        int32_t i = lowest_ready(q);
        if (i < 0)
            break;
        struct lq_queue *qu = &q->queues[i];
        struct lq_msg *m = &qu->msgs[qu->head];
        if (len + m->len > MSG_PAYLOAD_MAX)
            break;
        memcpy(frame + 2 + len, m->data, m->len);
        len += m->len;
        write_record(m, records + n++ * LINKQ_RECORD_INTS);
        if (m->kind == LINKQ_GENERIC)
            tags[ntags++] = m->tag;
        if (m->kind == LINKQ_QUEUE_STEP && m->sched != NO_CLOCK) {
            timed++;
            if (m->sched < low)
                low = m->sched;
            if (m->end > high)
                high = m->end;
        }
        qu->head++;
        qu->count--;
        qu->released--;
        if (!qu->count)
            qu->head = 0;
    }
    if (!n)
        return 0;
    q->ready_bytes -= len;
    q->pending -= n;
    msgblock_frame(frame, len, seq);
    summary[0] = n;
    summary[1] = timed;
    summary[2] = low;
    summary[3] = high;
    summary[4] = ntags;
    return len + MSG_MIN;
}

// The blocks a send now may carry (FACTS 2.5): after releasing what
// may go by ack_clock, build blocks while fewer than max_blocks are
// unacknowledged (in_flight + planned), data is ready, the MCU's receive
// window has room for one more full block (window < 0: no window; it
// is looked at only while some block is unacknowledged or planned:
// window_need + the planned frames' bytes <= window) and either a full
// block's worth is ready or the first ready message is due within
// delta_ticks of ack_clock. Block b (sequence seq + b) goes to frames +
// 64 b, its records and generic tags follow the previous block's in
// records and tags, and summaries + 5 b gets its linkq_build summary.
// *window_full tells whether the window stopped it. Returns the blocks.
int32_t
linkq_plan(struct linkq *q, int64_t ack_clock, int64_t delta_ticks,
           int32_t max_blocks, int32_t in_flight, int64_t window,
           int64_t window_need, int32_t seq, uint8_t *frames,
           int64_t *records, int32_t *tags, int64_t *summaries,
           int32_t *window_full)
{
    int32_t n = 0;
    int64_t planned_bytes = 0, nrec = 0, ntags = 0;
    linkq_release(q, ack_clock);
    *window_full = 0;
    while (in_flight + n < max_blocks && q->ready_bytes) {
        if (window >= 0 && (in_flight || n) && window_need + planned_bytes > window) {
            *window_full = 1;
            break;
        }
        if (q->ready_bytes < MSG_PAYLOAD_MAX
            && linkq_first_req(q) > ack_clock + delta_ticks)
            break;
        int64_t *summary = summaries + 5 * n;
        int32_t len = linkq_build(q, seq + n, frames + MSG_MAX * n,
                                  records + LINKQ_RECORD_INTS * nrec, tags + ntags,
                                  summary);
        nrec += summary[0];
        ntags += summary[4];
        planned_bytes += len;
        n++;
    }
    return n;
}

// The earliest MCU clock something must be looked at again: a ready
// head's req_clock - delta_ticks, or a waiting head's min_clock.
// Returns 0 if every queue is empty.
int32_t
linkq_next_due(struct linkq *q, int64_t delta_ticks, int64_t *due)
{
    int32_t found = 0;
    for (int32_t i = 0; i < q->nqueues; i++) {
        struct lq_queue *qu = &q->queues[i];
        if (!qu->count)
            continue;
        struct lq_msg *m = &qu->msgs[qu->head];
        int64_t d = qu->released ? m->req_clock - delta_ticks : m->min_clock;
        if (!found || d < *due)
            *due = d;
        found = 1;
    }
    return found;
}

int64_t
linkq_pending(struct linkq *q)
{
    return q->pending;
}

int64_t
linkq_ready(struct linkq *q)
{
    return q->ready_bytes;
}

/****************************************************************
 * Reading received data
 ****************************************************************/

// Is the block at data[pos] (length byte in range, all of it present)
// intact: sequence byte, sync trailer and CRC?
static int
block_intact(const uint8_t *data, int64_t pos, int64_t len)
{
    int n = data[pos];
    if (n < MSG_MIN || n > MSG_MAX || pos + n > len)
        return 0;
    if ((data[pos + 1] & ~MSG_SEQ_MASK) != MSG_DEST || data[pos + n - 1] != MSG_SYNC)
        return 0;
    uint16_t crc = msgblock_crc16(data + pos, n - 3);
    return data[pos + n - 3] == crc >> 8 && data[pos + n - 2] == (crc & 0xff);
}

// The next intact block in data from *pos: its start offset, or -1 at
// the end. Sync bytes between blocks are skipped; after a damaged block
// the reader skips to the next sync byte (how a host resynchronises on
// the protocol's 0x7E trailer) and counts it in *bad. *pos moves past
// the block returned.
int64_t
linkq_next_block(const uint8_t *data, int64_t len, int64_t *pos, int64_t *bad)
{
    int64_t p = *pos;
    while (p < len) {
        if (data[p] == MSG_SYNC) {
            p++;
            continue;
        }
        if (!block_intact(data, p, len)) {
            (*bad)++;
            const uint8_t *sync = memchr(data + p, MSG_SYNC, len - p);
            p = sync ? sync - data + 1 : len;
            continue;
        }
        *pos = p + data[p];
        return p;
    }
    *pos = p;
    return -1;
}
