/* The MCU node's common block arrival as a C event (fw_node.c).
 *
 * Contract: sim/mcus/firmware_node.py's McuNode keeps one `struct
 * fw_node` beside its Python state.  A block for the MCU that carries
 * queue_steps (Block.motion) and messages McuNode._note_block records by
 * their clock alone (node_c.py deliver_block) is handed to
 * fw_node_deliver(_gen), which copies its bytes into a ring and schedules a C
 * event in the event kernel (vs_schedule_c of chelper's vsched.h, passed
 * in as `schedule` and `vs`).  At the event the firmware runs to the
 * arrival and receives the bytes (fw_arrive; a stop on the way for a
 * stale sensor sample or the firmware's own output is handled as in the
 * wake-up below); then, unless something is
 * unusual, C does what McuNode._arrive does in Python: reads the ack's
 * sequence, records the block's margins (fw_margins), sends the output
 * over the MCU->host wire (fw_wire) as a C event handing the bytes to the
 * sink, and keeps the planned wake-up when the firmware's quiet bound did
 * not move.  Anything else goes back to Python (fw_node_py, FW_PY_*) at
 * the point where the paths part, so events are scheduled in the same
 * order as by the Python path alone:
 * - FW_PY_ARRIVE: nothing ran yet (the node is shut down or stopped,
 *   faults are on): Python runs the whole arrival;
 * - FW_PY_REST: the firmware ran and received (or stopped on the way,
 *   `value` = the run state); info[] and out[] hold fw_arrive's results;
 *   Python finishes the arrival (a late message, output too long, a
 *   shutdown, bytes lost to the receive buffer, a sensor Python reads);
 * - FW_PY_WAKE: all done but the wake plan, the quiet bound is in
 *   info[FW_ARRIVE_QUIET];
 * The wake-up where the firmware could next transmit is a C event too
 * (fw_node_wake_event, McuNode._wake's port): the firmware runs to the
 * wake's clock, its output goes out as above, and the next wake is planned
 * on the poll grid (fw_grid_wake_at); back to Python:
 * - FW_PY_WAKE_ALL: the node goes the Python way (py_only): all of _wake;
 * - FW_PY_SAMPLE: the run stopped before a stale sensor sample of a
 *   plant whose ADC value Python computes: Python brings the plants there
 *   (_on_stop), C runs on (else C does it: fw_node_on_sample);
 * - FW_PY_WAKE_REST: a shutdown, or output too long: Python finishes
 *   (`serial` = the run's target, `value` = the stop not yet handled).
 * The heaters' plants (thermal_sim.h, `thermal`) are updated on the poll
 * grid by fw_node_replay_grid, fw_node_set_valid_until, fw_node_run_end
 * and fw_node_on_sample, the MCU node's _replay_grid, _set_valid_until,
 * _plants_at_run_end and _on_stop (RUN_SAMPLE) of before, which call them
 * (`planted`: the arrival's plant update was done before a FW_PY_REST).
 * The wake plan (wake_set, has_planned, planned_quiet, the event's slot,
 * seq and time) and the wake count live here; the Python fields mirrored
 * here (first_late, rx_lost, py_only) are set by the node wherever Python
 * changes them.  The output sink: void sink(sink_ctx, data, len), called
 * at the instant the chunk's last byte reached the host; the default is
 * fw_node_py_output (the node's on_output).
 */
#ifndef KLIPSIM_FW_NODE_H
#define KLIPSIM_FW_NODE_H

#include <stddef.h>
#include <stdint.h>
#include "fwsim.h"                  /* struct fw_grid */
#include "thermal_sim.h"

/* cffi:begin */
/* One direction of the serial link (sim/link/wire.py's rule): a write of
 * nbytes at `now` ends when its last byte has crossed; on USB it starts
 * at the next 1 ms frame. */
struct fw_wire {
    int64_t byte_ns, idle_ns;
    int32_t usb;
};
int64_t fw_wire_send(struct fw_wire *w, int64_t now, int64_t nbytes);

/* Scheduled-minus-arrival margins per deadline class (CLASSES' order in
 * sim/link/messages.py): minimum and count; the series of (arrival ns,
 * a block's smallest margin); per class and second of arrival the
 * smallest; per class the smallest with its first arrival.  Classes in
 * the order they were first noted (fw_margins_order). */
enum { FW_CLASSES = 4 };
struct fw_margins;
struct fw_margins *fw_margins_new(void);
void fw_margins_free(struct fw_margins *m);
void fw_margins_add(struct fw_margins *m, int32_t klass, int64_t margin, int64_t count);
void fw_margins_note(struct fw_margins *m, int64_t now_ns, int32_t klass, int64_t margin);
void fw_margins_add_series(struct fw_margins *m, int64_t now_ns, int64_t worst);
int32_t fw_margins_minimum(struct fw_margins *m, int32_t klass, int64_t *out);
int64_t fw_margins_count(struct fw_margins *m, int32_t klass);
size_t fw_margins_series_len(struct fw_margins *m);
void fw_margins_series_read(struct fw_margins *m, int64_t *out);
int32_t fw_margins_order(struct fw_margins *m, int32_t *out);
/* (second, smallest) pairs of a class into out, room for 2 *
 * fw_margins_span(m, klass) values; returns the pairs. */
size_t fw_margins_span(struct fw_margins *m, int32_t klass);
size_t fw_margins_seconds(struct fw_margins *m, int32_t klass, int64_t *out);
int32_t fw_margins_minimum_at(struct fw_margins *m, int32_t klass, int64_t *out);

enum { FW_PY_ARRIVE = 0, FW_PY_REST = 1, FW_PY_WAKE = 2,
       /* the wake-up event (fw_node_wake_event) */
       FW_PY_WAKE_ALL = 3, FW_PY_SAMPLE = 4, FW_PY_WAKE_REST = 5 };
enum { FW_NODE_RING = 64, FW_NODE_OUT_MAX = 256, FW_GEN_MAX = 8 };

/* A scheduled message of a block besides its queue_steps, as
 * McuNode._note_block records it: its clock, deadline class (CLASSES'
 * index), the oid of a queue_digital_out (-1: another message; its last
 * update is kept if the oid has a max_duration) and whether its clock
 * keeps the print alive (last_sched_clock). */
struct fw_gen {
    int64_t sched;
    int32_t klass, oid, extends;
};

struct fw_arrival {
    uint8_t data[64];
    int32_t len, seq, arrived;
    int32_t has_motion, ngen;
    int64_t count, low, high;     /* Block.motion (if has_motion) */
    struct fw_gen gen[8];         /* its other scheduled messages */
};

struct fw_node {
    struct mcu *fw;
    struct fw_wire *wire;           /* MCU -> host */
    struct fw_margins *margins;
    void *vs, *schedule;            /* the kernel and vs_schedule_c */
    void *py;                       /* the McuNode's handle */
    void *sink, *sink_ctx;
    int64_t clk_offset, clk_num;    /* McuClock: offset + t_ns * num // 10^18 */
    int32_t stops;                  /* fw_run_until's stop flags */
    /* mirrors of the Python state */
    int32_t py_only;                /* shut down, stopped or faults on */
    int32_t first_late;             /* a first late message was seen */
    int32_t expected_seq;
    int32_t wake_set, has_planned;  /* a wake event pending; planned_quiet valid */
    uint64_t planned_quiet;
    int64_t last_sched_clock;
    uint64_t rx_lost;               /* what rx_stats.mcu_rx_lost holds */
    int32_t planted;                /* this arrival's plant update was done */
    /* arrivals in flight: serial & (FW_NODE_RING - 1) */
    int64_t serial, pending;
    struct fw_arrival ring[64];
    int64_t noted[64], noted_n;     /* serials the C path marked arrived */
    int64_t fast, slow;             /* arrivals finished in C, in Python */
    uint64_t info[4];               /* fw_arrive's info (FW_ARRIVE_*) */
    uint8_t out[256];
    struct fw_out *outs;            /* output chunks on the wire */
    int32_t nouts, free_out;
    /* the wake-up (McuNode._plan_wake, _wake): the poll grid (offset,
     * num, grid0, poll; set by start()), the pending wake event */
    struct fw_grid grid;
    int32_t grid_set;
    int64_t *last_seq;              /* the kernel's last_seq (the seq of an event) */
    int32_t wake_slot;
    int64_t wake_seq, wake_at;
    int64_t wakes;                  /* McuNode.wakes */
    /* the heaters' plants (NULL: none) and the ADC validity worked out
     * for them: valid_until given to the firmware, the plants' version it
     * was worked out at, the grid point reaching next_due (cached while
     * next_due is gp_due); has_*: set (not None); grid_known: start() ran */
    struct fw_thermal *thermal;
    int64_t valid_until, valid_version, gp_due, gp_point;
    int32_t has_valid_until, has_valid_version, has_gp, grid_known;
    /* digital outs with a max_duration (watched) and the clock of the
     * latest queue_digital_out taken for each (McuNode.missed_update_oid) */
    uint8_t watched[256], has_update[256];
    int64_t last_update[256];
};
struct fw_node *fw_node_new(void);
void fw_node_free(struct fw_node *n);
/* A block (bytes, sequence, Block.motion) reaches the MCU at host ns
 * at_ns: its serial, or -1 when it must go the Python way (py_only, ring
 * full, too long). */
int64_t fw_node_deliver(struct fw_node *n, int64_t at_ns, const uint8_t *data, size_t len,
                        int32_t seq, int64_t count, int64_t low, int64_t high);
/* fw_node_deliver for a block with `ngen` (<= FW_GEN_MAX) other scheduled
 * messages, with or without queue_steps (has_motion). */
int64_t fw_node_deliver_gen(struct fw_node *n, int64_t at_ns, const uint8_t *data,
                            size_t len, int32_t seq, int32_t has_motion, int64_t count,
                            int64_t low, int64_t high, const struct fw_gen *gen,
                            int32_t ngen);
int32_t fw_node_arrive_event(void *node, int64_t now_ns, int64_t serial);
/* McuNode._send_out without faults (len 1..FW_NODE_OUT_MAX): the chunk
 * the firmware wrote at MCU clock `clock` goes out on the wire as a C
 * event handing it to the sink when its last byte reached the host. */
void fw_node_send_out(struct fw_node *n, const uint8_t *data, size_t len, uint64_t clock,
                      int64_t now_ns);
int32_t fw_node_can_take(struct fw_node *n, int32_t blocks);
/* The wake event at host ns `at` (fw_node_wake_event), its slot, seq and
 * time kept in wake_slot, wake_seq, wake_at (wake_set). */
void fw_node_schedule_wake(struct fw_node *n, int64_t at);
void fw_node_replay_grid(struct fw_node *n, int64_t upto);
void fw_node_set_valid_until(struct fw_node *n);
void fw_node_run_end(struct fw_node *n, int64_t now);
void fw_node_on_sample(struct fw_node *n);
int32_t fw_node_wake_event(void *node, int64_t now_ns, int64_t arg);
/* cffi:end */

/* cffi:python-begin
extern "Python+C" int32_t fw_node_py(void *py, int32_t kind, int64_t serial, int64_t value);
extern "Python+C" int32_t fw_node_py_output(void *ctx, const uint8_t *data, size_t len);
cffi:python-end */
int32_t fw_node_py(void *py, int32_t kind, int64_t serial, int64_t value);
int32_t fw_node_py_output(void *ctx, const uint8_t *data, size_t len);

#endif
