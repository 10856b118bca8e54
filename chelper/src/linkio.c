// The simulated serial link's per-block bookkeeping, host side: the
// wire towards the MCU, the blocks awaiting an ack, acks and naks, the
// retransmit timeout, the clock-query pairing, the send planning around
// linkq (linkq.c) and when the serial queue thread must look again.
//
// The rules are KLIPPER-FACTS 2.5 (our reading, written from the facts):
// - at most MAX_PENDING blocks unacknowledged; an intact received block
//   names the next sequence the MCU expects, acknowledging every block
//   before it; RTT/RTO as RFC 6298 with FACTS' constants (first srtt 10 x
//   the sample), doubled on every timeout; on RTO every unacknowledged
//   block is resent, prefixed with a sync byte;
// - an empty block not naming a newer block is a nak: a fast retransmit
//   (no back-off) unless its block count is at or below ignore_nak; the
//   sequence bookkeeping counts blocks from 1 and never wraps (the wire's
//   4-bit sequence only names blocks relative to these);
// - the MCU's receive window: no new block while unacknowledged bytes +
//   MESSAGE_MAX (+ the block acknowledged last, while only a response and
//   not yet its ack has named it) exceed it.
// sim/link/serial_link.py states the same contract; tests/link_model.py
// is the Python this replaced, kept as the model the property tests
// (tests/test_link_io.py) compare every decision with.
//
// Time is integer ns; the MCU clock conversions are the serial queue's
// (exact: McuClock's integer mapping; float: SerialQueueClock's, in the
// same operation order as the Python, so both give the same integers).
// The native serial queue program's side of the link is linkio_native.c;
// the struct both share, linkio_internal.h.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "xalloc.h"
#include "linkio_internal.h"


struct linkio *
linkio_new(int32_t transport, int64_t byte_ns, int64_t window,
           int32_t fast_retransmit, int64_t delta_ticks)
{
    struct linkio *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->transport = transport;
    l->byte_ns = byte_ns;
    l->window = window;
    l->fast_retransmit = fast_retransmit;
    l->delta_ticks = delta_ticks;
    // (counted from 1, so a nak naming the first block is above the
    // initial ignore_nak)
    l->s_send = l->s_receive = l->s_last_ack = 1;
    l->rto_ns = MIN_RTO_NS;
    return l;
}

void
linkio_free(struct linkio *l)
{
    if (!l)
        return;
    free(l->queries);
    free(l->recoveries);
    chunkbuf_free(&l->rx);
    chunkbuf_free(&l->pay);
    free(l->pay_snaps);
    free(l->scratch);
    free(l);
}

void
linkio_set_send_seq(struct linkio *l, int32_t seq)
{
    l->send_seq = seq;
}

/****************************************************************
 * The wire and the clock
 ****************************************************************/

// When the last byte of nbytes written at `now` arrives; the line stays
// busy until then (a UART or pseudo-tty at once, USB at the next frame).
static int64_t
wire_send(struct linkio *l, int64_t now, int64_t nbytes)
{
    int64_t start = now > l->idle_ns ? now : l->idle_ns;
    if (l->transport == TRANSPORT_USB)
        start = (start + USB_FRAME_NS - 1) / USB_FRAME_NS * USB_FRAME_NS;
    l->idle_ns = start + nbytes * l->byte_ns;
    return l->idle_ns;
}

// McuClock: ticks = offset + floor(t * num / 1e18).
void
linkio_set_clock_exact(struct linkio *l, int64_t offset, int64_t num)
{
    l->clock_kind = CLOCK_EXACT;
    l->c_offset = offset;
    l->c_num = num;
}

// SerialQueueClock: ticks = int(c0 + (t_ns / 1e9 - t0) * f).
void
linkio_set_clock_float(struct linkio *l, double t0, double c0, double f)
{
    l->clock_kind = CLOCK_FLOAT;
    l->c_t0 = t0;
    l->c_c0 = c0;
    l->c_f = f;
}

// The MCU clock at host time t_ns (t_ns >= 0).
int64_t
lio_clock_at(struct linkio *l, int64_t t_ns)
{
    if (l->clock_kind == CLOCK_EXACT)
        return l->c_offset + (int64_t)((__int128)t_ns * l->c_num / NS2);
    return (int64_t)(l->c_c0 + ((double)t_ns / 1e9 - l->c_t0) * l->c_f);
}

// The earliest host ns at which the clock reaches `clock`.
static int64_t
time_of(struct linkio *l, int64_t clock)
{
    if (l->clock_kind == CLOCK_EXACT) {
        int64_t ticks = clock - l->c_offset;
        if (ticks <= 0)
            return 0;
        return (int64_t)(((__int128)ticks * NS2 + l->c_num - 1) / l->c_num);
    }
    double t = ceil((l->c_t0 + ((double)clock - l->c_c0) / l->c_f) * 1e9);
    return t > 0. ? (int64_t)t : 0;
}

/****************************************************************
 * Acks
 ****************************************************************/

// One round-trip sample (RFC 6298, FACTS 2.5: the first srtt 10 x it).
static void
rtt_sample(struct linkio *l, int64_t delta)
{
    if (delta < 0)
        delta = 0;
    if (!l->srtt) {
        l->srtt = 10 * delta;
        l->rttvar = delta / 2;
    } else {
        int64_t diff = l->srtt - delta;
        l->rttvar = (3 * l->rttvar + (diff < 0 ? -diff : diff)) / 4;
        l->srtt = (7 * l->srtt + delta) / 8;
    }
    int64_t var = 4 * l->rttvar > 1000000 ? 4 * l->rttvar : 1000000;
    int64_t rto = l->srtt + var;
    l->rto_ns = rto < MIN_RTO_NS ? MIN_RTO_NS : rto > MAX_RTO_NS ? MAX_RTO_NS : rto;
}

// The first `count` blocks in flight were acknowledged at `now`.
static void
acked(struct linkio *l, int32_t count, int64_t now)
{
    int64_t freed = 0;
    struct lio_block *b = NULL;
    for (int32_t i = 0; i < count; i++) {
        b = &l->ring[l->head];
        l->head = (l->head + 1) % RING;
        freed += b->len;
        if (b->retransmitted) {
            if (l->nrecoveries == l->cap_recoveries) {
                int64_t cap = l->cap_recoveries ? 2 * l->cap_recoveries : 64;
                int64_t *r = realloc(l->recoveries, cap * sizeof(*r));
                if (r) {
                    l->recoveries = r;
                    l->cap_recoveries = cap;
                }
            }
            if (l->nrecoveries < l->cap_recoveries)
                l->recoveries[l->nrecoveries++] = now - b->sent_ns;
        }
    }
    int32_t py = count < l->py_n ? count : l->py_n;
    l->py_n -= py;
    l->py_pop += py;
    l->count -= count;
    l->s_receive += count;
    l->unacked_bytes -= freed;
    l->last_ack_bytes = b->len;
    if (l->stalling) {
        l->stalls[l->stall_pos] = now - l->stall_since;
        l->stall_pos = (l->stall_pos + 1) % STALLS_KEPT;
        if (l->nstalls < STALLS_KEPT)
            l->nstalls++;
        l->stalling = 0;
    }
    if (!b->retransmitted)
        rtt_sample(l, now - b->sent_ns);
    l->has_rto = l->count > 0;
    l->rto_deadline = now + l->rto_ns;
}

// An ack or nak came naming s_receive: is it a nak asking for a fast
// retransmit?
static int
empty_block_is_nak(struct linkio *l)
{
    if (l->s_last_ack < l->s_receive) {
        l->s_last_ack = l->s_receive;
        return 0;
    }
    return l->s_receive > l->s_ignore_nak && l->count > 0;
}

// Every block before `seq` arrived (seq names the next expected); an
// empty block (ack or nak) not naming a newer one is a nak.
static void
ack(struct linkio *l, int32_t seq, int empty, int64_t now)
{
    int32_t count = 0;
    if (l->count) {
        count = (seq - l->ring[l->head].seq) & MSG_SEQ_MASK;
        if (count > l->count)
            return;                     // names a block never sent: ignore
    }
    if (count)
        acked(l, count, now);
    if (empty && empty_block_is_nak(l) && l->fast_retransmit)
        l->nak_due = 1;
}

// Read one received chunk at `now`: every intact block's sequence acks,
// damaged ones are counted. The blocks with a payload go to starts
// (their offset in data; the payload is data[start + 2, start +
// data[start] - 3)) with, in snaps, the block count acknowledged when
// each was read (for linkio_clock_query_sent). *acked gets the blocks
// acknowledged. Returns the payload blocks (at most cap; cap >= len / 6
// + 1 suffices).
int64_t
linkio_input(struct linkio *l, const uint8_t *data, int64_t len, int64_t now,
             int64_t *starts, int64_t *snaps, int64_t cap, int64_t *acked_out)
{
    int64_t pos = 0, n = 0, start, bad = 0, received = l->s_receive;
    while (n < cap && (start = linkq_next_block(data, len, &pos, &bad)) >= 0) {
        int empty = data[start] == MSG_MIN;
        ack(l, data[start + 1] & MSG_SEQ_MASK, empty, now);
        if (empty)
            continue;
        starts[n] = start;
        snaps[n++] = l->s_receive;
    }
    l->stats[LINKIO_BAD_BLOCKS] += bad;
    *acked_out = l->s_receive - received;
    return n;
}

/****************************************************************
 * The receive buffer (the serial queue's received chunks)
 ****************************************************************/

// A chunk received from the tty (the kworker hands it on): kept until
// the serial queue thread reads every chunk at once (linkio_input_all).
void
linkio_receive(struct linkio *l, const uint8_t *data, int64_t n)
{
    chunkbuf_add(&l->rx, data, n);
}

// Read every received chunk, in order and each on its own, at `now`, as
// linkio_input would one by one. The result (valid until the next call)
// gives the chunks read, the blocks acknowledged and the payloads of the
// blocks that carry responses: payload i is data[ends[i - 1], ends[i])
// (ends[-1] = 0), read when snaps[i] blocks were acknowledged.
const struct linkio_rx *
linkio_input_all(struct linkio *l, int64_t now)
{
    struct chunkbuf *rx = &l->rx, *pay = &l->pay;
    int64_t acked = 0;
    if (l->rx_taken) {                  // (read by the native program)
        l->rx_taken = 0;
        return &l->out;
    }
    chunkbuf_clear(pay);
    for (int64_t c = 0; c < rx->n; c++) {
        int64_t start = chunkbuf_start(rx, c), one;
        const uint8_t *data = rx->data + start;
        int64_t len = rx->ends[c] - start;
        int64_t cap = len / (MSG_MIN + 1) + 1;   // (linkio_input's bound)
        if (2 * cap > l->scratch_cap) {
            l->scratch_cap = 2 * cap;
            l->scratch = xrealloc(l->scratch, l->scratch_cap * sizeof(int64_t));
        }
        int64_t *starts = l->scratch, *snaps = l->scratch + cap;
        int64_t n = linkio_input(l, data, len, now, starts, snaps, cap, &one);
        acked += one;
        for (int64_t i = 0; i < n; i++) {
            int64_t at = starts[i];
            int64_t k = chunkbuf_add(pay, data + at + 2, data[at] - MSG_MIN);
            if (pay->ncap > l->snaps_cap) {
                l->snaps_cap = pay->ncap;
                l->pay_snaps = xrealloc(l->pay_snaps, pay->ncap * sizeof(int64_t));
            }
            l->pay_snaps[k] = snaps[i];
        }
    }
    l->out = (struct linkio_rx){pay->data, pay->ends, l->pay_snaps, pay->n, acked, rx->n};
    chunkbuf_clear(rx);
    return &l->out;
}

// When the get_clock a reply answers left the host, or 0. Klipper pairs
// a reply with the send time of its own request (FACTS 2.4/2.5), so a
// lost reply loses one sample and never shifts later pairs. The reply
// answers the newest query the MCU had received: the newest query block
// acknowledged when the reply was read (snap, from linkio_input; acks
// are read before the block's messages). Older acknowledged queries lost
// their replies. A retransmitted query block has no single send time:
// Klipper then gives sent_time 0 and takes no sample.
int64_t
linkio_clock_query_sent(struct linkio *l, int64_t snap)
{
    struct lio_query *newest = NULL;
    while (l->qcount && l->queries[l->qhead].num < snap) {
        newest = &l->queries[l->qhead++];
        l->qcount--;
    }
    if (!l->qcount)
        l->qhead = 0;                   // (newest stays readable: not overwritten yet)
    if (!newest || newest->retransmitted)
        return 0;
    return newest->sent_ns;
}

/****************************************************************
 * Sending
 ****************************************************************/

// Plan the blocks a send now may carry (linkq_plan with this link's
// state: the 12 block limit, the receive window, the hold-back of
// MIN_REQTIME_DELTA, FACTS 2.5) into linkq_plan's buffers; *first_seq
// gets the first block's sequence. Notes an ack stall when data is
// ready but nothing may leave. Returns the blocks planned.
int32_t
linkio_plan(struct linkio *l, struct linkq *q, int64_t now, uint8_t *frames,
            int64_t *records, int32_t *tags, int64_t *summaries,
            int32_t *first_seq)
{
    if (l->plan_taken) {                // (planned by the native program)
        l->plan_taken = 0;
        *first_seq = l->plan_seq;
        return l->plan_n;
    }
    int64_t ready_at = now > l->idle_ns ? now : l->idle_ns;
    int64_t ack_clock = lio_clock_at(l, ready_at + MSG_MAX * l->byte_ns);
    int64_t need = l->unacked_bytes + MSG_MAX;
    if (l->s_last_ack < l->s_receive)
        need += l->last_ack_bytes;
    int32_t n = linkq_plan(q, ack_clock, l->delta_ticks, MAX_PENDING, l->count,
                           l->window, need, l->send_seq, frames, records, tags,
                           summaries, &l->window_full);
    *first_seq = l->send_seq;
    for (int32_t b = 0; b < n; b++) {
        l->planned_seq[b] = (l->send_seq + b) & MSG_SEQ_MASK;
        l->planned_len[b] = frames[MSG_MAX * b];
    }
    l->planned = n;
    l->plan_n = n;
    l->plan_seq = l->send_seq;
    l->send_seq = (l->send_seq + n) & MSG_SEQ_MASK;
    int blocked = l->window_full || l->count >= MAX_PENDING;
    if (blocked && linkq_ready(q) && !l->stalling) {
        l->stalling = 1;
        l->stall_since = now;
    }
    return n;
}

// One block leaves at `now`; returns when it has reached the MCU.
int64_t
lio_transmit(struct linkio *l, int64_t now, int32_t seq, int32_t len, int query)
{
    int64_t arrival = wire_send(l, now, len);
    if (query) {
        if (l->qhead + l->qcount == l->qcap) {
            if (l->qhead) {
                memmove(l->queries, l->queries + l->qhead, l->qcount * sizeof(*l->queries));
                l->qhead = 0;
            } else {
                int64_t cap = l->qcap ? 2 * l->qcap : 16;
                struct lio_query *r = realloc(l->queries, cap * sizeof(*r));
                if (r) {
                    l->queries = r;
                    l->qcap = cap;
                }
            }
        }
        if (l->qhead + l->qcount < l->qcap) {   // (out of memory: no sample)
            struct lio_query *qe = &l->queries[l->qhead + l->qcount++];
            qe->num = l->s_send;
            qe->sent_ns = arrival;
            qe->retransmitted = 0;
        }
    }
    struct lio_block *b = &l->ring[(l->head + l->count++) % RING];
    b->sent_ns = arrival;
    b->seq = seq;
    b->len = len;
    b->retransmitted = 0;
    l->s_send++;
    l->unacked_bytes += len;
    if (l->unacked_bytes > l->stats[LINKIO_MAX_UNACKED])
        l->stats[LINKIO_MAX_UNACKED] = l->unacked_bytes;
    l->stats[LINKIO_BLOCKS]++;
    l->stats[LINKIO_BYTES_SENT] += len;
    if (!l->has_rto) {
        l->has_rto = 1;
        l->rto_deadline = arrival + l->rto_ns;
    }
    return arrival;
}

// RTO expired (back off) or a nak came: every unacknowledged block is
// resent after a sync byte; returns the bytes and when they arrive.
static void
retransmit(struct linkio *l, int64_t now, int nak, int64_t *out)
{
    if (nak) {
        l->stats[LINKIO_NAK_RETRANSMITS]++;
        // after a nak, later naks naming the same block are ignored, and
        // a second nak during this resend's recovery stops further ones
        l->s_ignore_nak = l->s_receive > l->s_retransmit ? l->s_receive : l->s_retransmit;
    } else {
        l->rto_ns = 2 * l->rto_ns < MAX_RTO_NS ? 2 * l->rto_ns : MAX_RTO_NS;
        l->stats[LINKIO_RETRANSMITS]++;
        l->s_ignore_nak = l->s_send;    // naks about blocks sent so far
    }
    l->s_retransmit = l->s_send;
    int64_t nbytes = 1;
    for (int32_t i = 0; i < l->count; i++) {
        struct lio_block *b = &l->ring[(l->head + i) % RING];
        nbytes += b->len;
        b->retransmitted = 1;
    }
    for (int64_t i = 0; i < l->qcount; i++) {
        struct lio_query *qe = &l->queries[l->qhead + i];
        if (qe->num >= l->s_receive)
            qe->retransmitted = 1;
    }
    int64_t arrival = wire_send(l, now, nbytes);
    l->stats[LINKIO_BYTES_RETRANSMITTED] += nbytes;
    l->has_rto = 1;
    l->rto_deadline = arrival + l->rto_ns;
    out[0] = arrival;
    out[1] = nbytes;
}

static int32_t commit_retransmit(struct linkio *l, int64_t now, int64_t *retransmit_out);

// Transmit the last plan's blocks at `now` (bit b of query_mask: block b
// carries a get_clock), their arrivals into arrivals; then the
// retransmit a nak asked for or the RTO calls for, if any: its arrival
// and bytes into retransmit[0..1]. Returns 0 (none), 1 (nak) or 2 (RTO).
int32_t
linkio_commit(struct linkio *l, int64_t now, int32_t query_mask,
              int64_t *arrivals, int64_t *retransmit_out)
{
    for (int32_t b = 0; b < l->planned; b++)
        arrivals[b] = lio_transmit(l, now, l->planned_seq[b], l->planned_len[b],
                               (query_mask >> b) & 1);
    l->py_n += l->planned;              // (Python keeps their Blocks)
    l->planned = 0;
    return commit_retransmit(l, now, retransmit_out);
}

// The retransmit a nak asked for or the RTO calls for, after a commit.
static int32_t
commit_retransmit(struct linkio *l, int64_t now, int64_t *retransmit_out)
{
    int32_t kind = 0;
    if (l->nak_due && l->count)
        kind = 1;
    else if (l->has_rto && now >= l->rto_deadline)
        kind = 2;
    if (kind)
        retransmit(l, now, kind == 1, retransmit_out);
    l->nak_due = 0;
    return kind;
}

// When the thread must look again without being kicked (-1: only a
// kick, new messages or received data): the RTO; with the window full
// WINDOW_RECHECK_NS on (an ack kicks it sooner); else, while a block may
// go, when the earliest queue head needs a look (minus one block's wire
// time). Never before now + 1.
int64_t
linkio_next_wake(struct linkio *l, struct linkq *q, int64_t now)
{
    int64_t wake = l->has_rto ? l->rto_deadline : INT64_MAX, due;
    if (l->window_full) {
        if (now + WINDOW_RECHECK_NS < wake)
            wake = now + WINDOW_RECHECK_NS;
    } else if (l->count < MAX_PENDING && linkq_next_due(q, l->delta_ticks, &due)) {
        // time_of is non-decreasing: the earliest clock gives the earliest time
        int64_t t = time_of(l, due) - MSG_MAX * l->byte_ns;
        if (t < wake)
            wake = t;
    }
    if (wake == INT64_MAX)
        return -1;
    return wake > now + 1 ? wake : now + 1;
}

/****************************************************************
 * Reading the state
 ****************************************************************/

// The longest of the recent ack stalls, or the one going on (ns).
int64_t
linkio_recent_ack_stall(struct linkio *l, int64_t now)
{
    int64_t longest = l->stalling ? now - l->stall_since : 0;
    for (int32_t i = 0; i < l->nstalls; i++)
        if (l->stalls[i] > longest)
            longest = l->stalls[i];
    return longest;
}

int32_t
linkio_in_flight(struct linkio *l)
{
    return l->count;
}

// A counter (LINKIO_* of linkio.h).
int64_t
linkio_stat(struct linkio *l, int32_t which)
{
    if (which == LINKIO_RTO_NS)
        return l->rto_ns;
    if (which == LINKIO_WINDOW_FULL)
        return l->window_full;
    return which >= 0 && which < LINKIO_WINDOW_FULL ? l->stats[which] : -1;
}

// The recoveries (ns from a resent block's first send to its ack), up to
// cap of them into out; returns how many there are.
int64_t
linkio_recoveries(struct linkio *l, int64_t *out, int64_t cap)
{
    for (int64_t i = 0; i < l->nrecoveries && i < cap; i++)
        out[i] = l->recoveries[i];
    return l->nrecoveries;
}
