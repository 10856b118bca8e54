// The struct linkio and its parts, shared by linkio.c (the link's
// bookkeeping) and linkio_native.c (the native serial queue program's
// side of it).  Not part of the cffi interface.
#ifndef KLIPSIM_LINKIO_INTERNAL_H
#define KLIPSIM_LINKIO_INTERNAL_H

#include <stdint.h>
#include "linkio.h"
#include "msgblock.h"
#include "chunkbuf.h"


#define MAX_PENDING 12                  // MAX_PENDING_BLOCKS (FACTS 2.5)
#define RING 16                         // >= MAX_PENDING, a power of two
#define WINDOW_RECHECK_NS 250000000LL   // window full: look again (FACTS 2.5)
#define STALLS_KEPT 20                  // recent ack stalls kept for the blame
#define MIN_RTO_NS 25000000LL
#define MAX_RTO_NS 5000000000LL
#define USB_FRAME_NS 1000000LL
#define NS2 ((__int128)1000000000000000000LL)

enum { TRANSPORT_UART, TRANSPORT_USB, TRANSPORT_PTY };
enum { CLOCK_EXACT, CLOCK_FLOAT };

struct lio_block {
    int64_t sent_ns;            // when its last byte reached the MCU
    int32_t seq, len;           // wire sequence, frame bytes
    int32_t retransmitted;
    // a block the native serial queue program sent (serialq_prog.c),
    // kept until Python builds its Block (linkio_py_block): the frame,
    // the plan's summary (count, timed, low, high) and records, and the
    // MCU node's serial of its C arrival
    uint8_t frame[MSG_MAX];
    int64_t summary[4], serial;
    int64_t records[MSG_PAYLOAD_MAX * LINKQ_RECORD_INTS];
};

struct lio_query {              // a block that carried a get_clock
    int64_t num, sent_ns;       // block count (LinkSeqs numbering), send time
    int32_t retransmitted;
};

struct linkio {
    // the wire towards the MCU
    int32_t transport;
    int64_t byte_ns, idle_ns;
    // the serial queue's MCU clock
    int32_t clock_kind;
    int64_t c_offset, c_num;            // exact: offset + t * num / 1e18
    double c_t0, c_c0, c_f;             // float: c0 + (t - t0) * f
    // flow control
    int64_t window;                     // receive window bytes, < 0: none
    int32_t fast_retransmit, send_seq, window_full, nak_due;
    int64_t delta_ticks;                // MIN_REQTIME_DELTA in ticks
    // blocks awaiting an ack: ring[(head + i) % RING], i < count
    struct lio_block ring[RING];
    int32_t head, count;
    // sequence bookkeeping (block counts from 1, never wrapping)
    int64_t s_send, s_receive, s_last_ack, s_ignore_nak, s_retransmit;
    int64_t unacked_bytes, last_ack_bytes;
    // retransmit timeout
    int64_t srtt, rttvar, rto_ns, rto_deadline;
    int32_t has_rto;
    // ack stalls: data ready but nothing may leave until an ack
    int64_t stall_since, stalls[STALLS_KEPT];
    int32_t stalling, nstalls, stall_pos;
    // get_clock blocks in send order, not yet paired with a reply
    struct lio_query *queries;
    int64_t qhead, qcount, qcap;
    // the last plan's blocks, transmitted by linkio_commit
    int32_t planned, planned_seq[RING], planned_len[RING];
    // the serial queue's Python Blocks (linkio_py_sync): the oldest
    // py_n blocks in flight have one; py_pop acknowledged Blocks are
    // still in Python's deque. rx_taken / plan_taken: the native program
    // read the input / planned, and handed the wake to Python, whose
    // next linkio_input_all / linkio_plan return those results.
    int32_t py_n, py_pop, rx_taken, plan_taken, plan_n, plan_seq;
    // statistics (LINKIO_* of linkio.h) and recoveries (first send to ack)
    int64_t stats[LINKIO_WINDOW_FULL];
    int64_t *recoveries, nrecoveries, cap_recoveries;
    // received chunks not read yet (linkio_receive): bytes, chunk ends
    struct chunkbuf rx;
    // the last linkio_input_all's payloads (bytes, ends, snaps) and the
    // per-chunk reader's scratch (block starts and snaps)
    struct chunkbuf pay;
    int64_t *pay_snaps, snaps_cap, *scratch, scratch_cap;
    struct linkio_rx out;
};

// Send block `seq` (len bytes) at `now`: on the wire, into the ring of
// blocks awaiting an ack (linkio.c); returns its arrival at the MCU.
int64_t lio_transmit(struct linkio *l, int64_t now, int32_t seq, int32_t len,
                     int query);

// The serial queue's MCU clock at host time t_ns (linkio.c).
int64_t lio_clock_at(struct linkio *l, int64_t t_ns);

#endif
