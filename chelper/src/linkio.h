// The simulated serial link's per-block bookkeeping (sim/link/linkio.py
// drives it, sim/link/serial_link.py's thread calls that): one per MCU.
#ifndef KLIPSIM_LINKIO_H
#define KLIPSIM_LINKIO_H

#include <stdint.h>
#include "linkq.h"

/* cffi:begin */
struct linkio;
struct linkio_rx {              // linkio_input_all's result
    const uint8_t *data;        // the payloads, back to back
    const int64_t *ends, *snaps;
    int64_t n, acked, chunks;
};
struct linkio *linkio_new(int32_t transport, int64_t byte_ns, int64_t window,
                          int32_t fast_retransmit, int64_t delta_ticks);
void linkio_free(struct linkio *l);
void linkio_set_clock_exact(struct linkio *l, int64_t offset, int64_t num);
void linkio_set_clock_float(struct linkio *l, double t0, double c0, double f);
void linkio_set_send_seq(struct linkio *l, int32_t seq);
int64_t linkio_input(struct linkio *l, const uint8_t *data, int64_t len,
                     int64_t now, int64_t *starts, int64_t *snaps, int64_t cap,
                     int64_t *acked);
void linkio_receive(struct linkio *l, const uint8_t *data, int64_t n);
const struct linkio_rx *linkio_input_all(struct linkio *l, int64_t now);
int64_t linkio_clock_query_sent(struct linkio *l, int64_t snap);
int32_t linkio_plan(struct linkio *l, struct linkq *q, int64_t now,
                    uint8_t *frames, int64_t *records, int32_t *tags,
                    int64_t *summaries, int32_t *first_seq);
int32_t linkio_commit(struct linkio *l, int64_t now, int32_t query_mask,
                      int64_t *arrivals, int64_t *retransmit);
int64_t linkio_next_wake(struct linkio *l, struct linkq *q, int64_t now);
int64_t linkio_recent_ack_stall(struct linkio *l, int64_t now);
int32_t linkio_in_flight(struct linkio *l);
int64_t linkio_stat(struct linkio *l, int32_t which);
int64_t linkio_recoveries(struct linkio *l, int64_t *out, int64_t cap);
int32_t linkio_py_sync(struct linkio *l, int32_t *first);
void linkio_py_block(struct linkio *l, int32_t i, uint8_t *frame, int64_t *info,
                     int64_t *records);
void linkio_py_took(struct linkio *l);
int32_t linkio_enqueue_steps(struct linkio *l, struct linkq *q, const struct ss_message *msgs,
                             int64_t count, int64_t queued_ns, int64_t planned_wake);
/* cffi:end */

// the native serial queue program's calls (serialq_prog.c)
int32_t linkio_retransmit_due(struct linkio *l, int64_t now);
void linkio_hand_back(struct linkio *l, int32_t read, int32_t planned);
int32_t linkio_planned(struct linkio *l);
void linkio_native_commit(struct linkio *l, int64_t now, const uint8_t *frames,
                          const int64_t *records, const int64_t *summaries,
                          int64_t *arrivals);
void linkio_note_serial(struct linkio *l, int32_t n, int32_t b, int64_t serial);

#define LINKIO_NEED_SLOTS (-100)   // linkio_enqueue_steps stopped for the move slots

// linkio_stat's counters
#define LINKIO_BLOCKS 0
#define LINKIO_BYTES_SENT 1
#define LINKIO_RETRANSMITS 2
#define LINKIO_NAK_RETRANSMITS 3
#define LINKIO_MAX_UNACKED 4
#define LINKIO_BYTES_RETRANSMITTED 5
#define LINKIO_BAD_BLOCKS 6
#define LINKIO_RTO_NS 7
#define LINKIO_WINDOW_FULL 8

#endif
