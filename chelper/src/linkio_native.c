// The native serial queue program's side of the link (serialq_prog.c
// calls it): what a wake run in C needs from the link's bookkeeping
// (linkio.c), and the read-back with which Python builds the Block
// objects of blocks the program sent, when it needs them.
#include <string.h>
#include "linkio_internal.h"
/****************************************************************
 * The native serial queue program's side (serialq_prog.c)
 ****************************************************************/

// Might a commit at `now` retransmit (a nak came, or the RTO expired)?
int32_t
linkio_retransmit_due(struct linkio *l, int64_t now)
{
    return l->nak_due || (l->has_rto && now >= l->rto_deadline);
}

// The native program hands the wake to Python: its next
// linkio_input_all (and linkio_plan, when planned) return what the
// program already read (and planned).
void
linkio_hand_back(struct linkio *l, int32_t read, int32_t planned)
{
    l->rx_taken = read;
    l->plan_taken = planned;
}

// The blocks the last plan holds, not committed yet.
int32_t
linkio_planned(struct linkio *l)
{
    return l->planned;
}

// Transmit the last plan's blocks at `now` as linkio_commit does (none
// carries a get_clock), keeping each block's frame, summary and records
// (linkq_plan's outputs) for the Block Python may build later; their
// arrivals into arrivals. The caller checked linkio_retransmit_due.
void
linkio_native_commit(struct linkio *l, int64_t now, const uint8_t *frames,
                     const int64_t *records, const int64_t *summaries, int64_t *arrivals)
{
    const int64_t *rec = records;
    for (int32_t b = 0; b < l->planned; b++) {
        arrivals[b] = lio_transmit(l, now, l->planned_seq[b], l->planned_len[b], 0);
        struct lio_block *e = &l->ring[(l->head + l->count - 1) % RING];
        const int64_t *sum = summaries + 5 * b;
        memcpy(e->frame, frames + MSG_MAX * b, l->planned_len[b]);
        memcpy(e->summary, sum, 4 * sizeof(int64_t));
        memcpy(e->records, rec, sum[0] * LINKQ_RECORD_INTS * sizeof(int64_t));
        rec += sum[0] * LINKQ_RECORD_INTS;
        e->serial = -1;
    }
    l->planned = 0;
    l->nak_due = 0;
}

// The node's serial for the b-th of the n blocks just committed.
void
linkio_note_serial(struct linkio *l, int32_t n, int32_t b, int64_t serial)
{
    l->ring[(l->head + l->count - n + b) % RING].serial = serial;
}

// Python's Blocks catch up: returns the Blocks acknowledged since (to
// drop from its deque); *first gets the first block in flight without a
// Block (linkio_py_block for it up to linkio_in_flight, then
// linkio_py_took).
int32_t
linkio_py_sync(struct linkio *l, int32_t *first)
{
    int32_t pops = l->py_pop;
    l->py_pop = 0;
    *first = l->py_n;
    return pops;
}

// The i-th block in flight as the native program sent it: its frame and
// records into frame / records; info gets seq, len, sent_ns, node
// serial, count, timed, low, high.
void
linkio_py_block(struct linkio *l, int32_t i, uint8_t *frame, int64_t *info,
                int64_t *records)
{
    const struct lio_block *e = &l->ring[(l->head + i) % RING];
    memcpy(frame, e->frame, e->len);
    memcpy(records, e->records, e->summary[0] * LINKQ_RECORD_INTS * sizeof(int64_t));
    int64_t v[8] = {e->seq, e->len, e->sent_ns, e->serial, e->summary[0], e->summary[1],
                    e->summary[2], e->summary[3]};
    memcpy(info, v, sizeof(v));
}

void
linkio_py_took(struct linkio *l)
{
    l->py_n = l->count;
}

/****************************************************************
 * The main thread's side: a steppersync batch queued
 ****************************************************************/

// SerialQueue.enqueue for one steppersync batch once the move slots are
// set up: queue msgs[0, count) (linkq_push_steps), then say whether the
// serial queue thread must look now: the lowest req_clock is 0 (now) or
// within MIN_REQTIME_DELTA of the MCU clock at its planned wake
// (planned_wake, host ns). Returns 1 (post its signal), 0, a negative
// linkq error, or LINKIO_NEED_SLOTS (it stopped: Python's path).
int32_t
linkio_enqueue_steps(struct linkio *l, struct linkq *q, const struct ss_message *msgs,
                     int64_t count, int64_t queued_ns, int64_t planned_wake)
{
    int64_t first, done = linkq_push_steps(q, msgs, 0, count, queued_ns, &first);
    if (done < 0)
        return (int32_t)done;
    if (done < count)
        return LINKIO_NEED_SLOTS;
    return first == 0 || first - l->delta_ticks <= lio_clock_at(l, planned_wake);
}
