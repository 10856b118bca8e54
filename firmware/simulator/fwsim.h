/* The simulated board's API, driven from Python through cffi.
 *
 * Contract: one `struct mcu` per simulated MCU, created for an MCU profile
 * (any number per process; nothing is shared between instances).  The
 * virtual clock is a 64-bit tick count that only moves inside
 * fw_run_until(), which fires due timers in time order (firmware code
 * runs in zero simulated time).  fw_receive() hands the firmware bytes
 * from the host at the current clock; transmitted blocks, step pulses and
 * other pin writes are buffered and read in bulk.  The declarations
 * between the cffi markers are what Python sees.
 */
#ifndef KLIPSIM_FWSIM_H
#define KLIPSIM_FWSIM_H

#include <stddef.h>
#include <stdint.h>

/* In the integers of fw_host_send/fw_deliver_groups, FW_RAW_BYTE_TAG | b
 * stands for the raw byte b of a buffer parameter (sent as it is, not
 * VLQ-encoded); klipsim.firmware.simulator.mcu.RAW_BYTE_TAG is the same. */
#define FW_RAW_BYTE_TAG ((int64_t)1 << 40)

/* stream_exec: no deadline; error codes, never a clock (the Python side
 * has the same numbers: sim/execute/core.py) */
#define SP_NONE INT64_MIN
#define SP_ERR_KEY (INT64_MIN + 1)
#define SP_ERR_QUEUE (INT64_MIN + 2)
#define SP_ERR_SLOTS (INT64_MIN + 3)

/* board_sim.c: `buf` grown (doubling) to hold `need` items of `item`
 * bytes; aborts when out of memory. */
void *fw_grow(void *buf, size_t *cap, size_t need, size_t item);

/* cffi:begin */
struct mcu;

/* One step pulse (the step pin's active edge). */
struct fw_pulse {
    uint64_t clock;
    uint32_t pin;
    uint32_t dir;      /* dir pin level at the edge */
};

/* Any other pin write. */
struct fw_gpio_event {
    uint64_t clock;
    uint32_t pin;
    uint32_t value;
};

enum {
    FW_RUN_REACHED = 0,   /* the clock reached the requested time */
    FW_RUN_OUTPUT = 1,    /* stopped early: the MCU transmitted something */
    FW_RUN_SAMPLE = 2,    /* stopped before a watched ADC sample (below) */
};
/* fw_run_until's `stop` flags (1 is the old stop_on_output). */
enum {
    FW_STOP_OUTPUT = 1,
    FW_STOP_SAMPLE = 2,   /* before sampling a watched ADC pin at a clock
                           * after fw_set_adc_valid_until's: the caller
                           * sets the value (fw_set_adc), then runs on */
};

int fw_profile_count(void);
const char *fw_profile_name(int index);
const uint8_t *fw_profile_dictionary(const char *profile, size_t *len);

struct mcu *fw_new(const char *profile);
void fw_free(struct mcu *m);

uint64_t fw_now(struct mcu *m);
uint32_t fw_clock_freq(struct mcu *m);
void fw_receive(struct mcu *m, const uint8_t *data, size_t len);
/* Model a UART receive buffer of `size` bytes (<= 256; 0: none, the
 * transport holds back what does not fit); bytes lost to it so far. */
void fw_set_rx_buffer(struct mcu *m, size_t size);
uint64_t fw_rx_overflow(struct mcu *m);
int fw_run_until(struct mcu *m, uint64_t clock, int stop);
/* The earliest clock at which the MCU could transmit (a report or a
 * shutdown) if no bytes arrive: running to any earlier clock sends
 * nothing.  A lower bound; UINT64_MAX when nothing is pending or the
 * MCU is shut down. */
uint64_t fw_quiet_until(struct mcu *m);
void fw_set_adc_watch(struct mcu *m, uint32_t pin, int watch);
void fw_set_adc_valid_until(struct mcu *m, uint64_t clock);
/* A process MCU scheduled late: jump the clock to `now_clock` and run
 * every due timer at that time (Linux MCU late-repeat rule: 20 repeats,
 * a next timer 100 ms in the past shuts down).  Returns dispatches. */
uint64_t fw_run_late(struct mcu *m, uint64_t now_clock);
/* The head timer's waketime as a 64-bit clock (may be before now). */
uint64_t fw_next_timer(struct mcu *m);

/* The host side of the serial link, for speed: `nmsgs` messages given
 * as integers (message id then parameters, VLQ-encoded here with the
 * firmware's own encoder; msg_ends[i] = index after message i) are packed
 * in order into blocks of at most 59 payload bytes, framed with sequence
 * numbers from *seq (advanced) and received at the current clock.  If the
 * firmware answered with nothing but the matching acks they are consumed
 * and 2 * blocks is returned; otherwise its output is left for fw_tx_read
 * and 2 * blocks + 1 is returned.  -1: a message longer than a block.
 * A buffer parameter is its length byte and data, FW_RAW_BYTE_TAG | byte
 * each. */
int fw_host_send(struct mcu *m, const int64_t *ints, const uint32_t *msg_ends,
                 size_t nmsgs, uint8_t *seq);

/* Groups of messages (as for fw_host_send; msg_ends are absolute indexes
 * into ints, group_ends[g] = index after group g's last message) sent
 * each at its clock: for g = g0.. the clock is run to group_clocks[g]
 * (a group whose clock has passed is sent at once and counted late),
 * then the group is sent.  Returns the first group not yet sent
 * (ngroups when done), early whenever the MCU transmitted anything but
 * acks, so the caller can read it and call again; -1 on an oversized
 * message. */
struct fw_delivery {
    uint64_t blocks;
    uint64_t late_groups;
};
long fw_deliver_groups(struct mcu *m, const int64_t *ints, const uint32_t *msg_ends,
                       const uint32_t *group_ends, const uint64_t *group_clocks,
                       size_t g0, size_t ngroups, uint8_t *seq,
                       struct fw_delivery *stats);

/* The MCU node's hot path (sim/mcus/firmware_node.py), one call per
 * arrival of host bytes instead of run, receive, read and queries: the
 * firmware runs to `clock` as fw_run_until(m, clock, stop) would; if that
 * stopped early (or the MCU is shut down) nothing is received and the
 * run's state is returned (FW_RUN_OUTPUT for a shutdown), for the caller
 * to handle and finish.  Otherwise the firmware receives `data` and
 * FW_RUN_REACHED is returned with info[FW_ARRIVE_TX] = the length of what
 * it then transmitted (0: nothing), moved into tx_out when it fits in
 * tx_max bytes, else left for fw_tx_read; info[FW_ARRIVE_RX_LOST] =
 * fw_rx_overflow(), info[FW_ARRIVE_QUIET] = fw_quiet_until() after it,
 * info[FW_ARRIVE_NOW] = fw_now(). */
enum { FW_ARRIVE_TX, FW_ARRIVE_RX_LOST, FW_ARRIVE_QUIET, FW_ARRIVE_NOW, FW_ARRIVE_INFO };
int fw_arrive(struct mcu *m, uint64_t clock, int stop, const uint8_t *data, size_t len,
              uint8_t *tx_out, size_t tx_max, uint64_t *info);
/* The MCU node's poll grid (host ns grid0 + k * poll, k >= 1) on an MCU
 * clock that reads offset + t * num // 10^18 at host ns t (McuClock), and
 * the chain of heater plant updates on it (each `period` ticks after the
 * last, at the first grid point due).  fw_grid_replay: while the first
 * grid point whose clock is >= io[FW_GRID_DUE] is <= upto, it is an
 * update point (io[FW_GRID_POINT] = it, io[FW_GRID_DUE] = it + period);
 * returns how many, io[FW_GRID_NEXT] = the grid point reaching the final
 * due (MCU clocks). */
struct fw_grid {
    int64_t offset, num, grid0, poll, period;
};
enum { FW_GRID_DUE, FW_GRID_POINT, FW_GRID_NEXT, FW_GRID_IO };
int64_t fw_grid_replay(const struct fw_grid *g, int64_t upto, int64_t *io);
/* The MCU node's wake-up for a quiet bound `quiet` (MCU clock) planned at
 * host ns now_ns: the first grid point at which the clock reaches quiet,
 * and not before now (McuNode._plan_wake). */
int64_t fw_grid_wake_at(const struct fw_grid *g, uint64_t quiet, int64_t now_ns);
/* The first grid point at which the MCU clock is >= clock (its clock). */
int64_t fw_grid_point_reaching(const struct fw_grid *g, int64_t clock);

size_t fw_tx_available(struct mcu *m);
size_t fw_tx_read(struct mcu *m, uint8_t *out, size_t max);

/* Pulses with clock < `before` (all earlier pulses are final). */
size_t fw_pulses_ready(struct mcu *m, uint64_t before);
size_t fw_pulses_take(struct mcu *m, struct fw_pulse *out, size_t count);
/* With only_count set, a step pulse is not recorded (fw_pulses_ready
 * stays 0) but counted per step pin: steps and the sum of the dir levels
 * ("ups", net travel = 2 * ups - steps), as pulse_count() of chelper
 * would count the recorded pulses.  fw_pulse_counts copies the totals of
 * pins 0..min(npins, N)-1 and returns N, the pins the board counts. */
void fw_set_pulse_counting(struct mcu *m, int only_count);
size_t fw_pulse_counts(struct mcu *m, int64_t *steps, int64_t *ups, size_t npins);
size_t fw_gpio_events_available(struct mcu *m);
size_t fw_gpio_events_take(struct mcu *m, struct fw_gpio_event *out,
                           size_t count);
void fw_set_gpio_recording(struct mcu *m, int enable);
/* From the first call on, only the writes of pins kept here are
 * recorded (a pin outside the profile keeps nothing). */
void fw_record_gpio_only(struct mcu *m, const uint32_t *pins, size_t count);

void fw_set_input(struct mcu *m, uint32_t pin, int value);
void fw_set_adc(struct mcu *m, uint32_t pin, uint16_t value);
int fw_pin_level(struct mcu *m, uint32_t pin);

int fw_is_shutdown(struct mcu *m);
uint16_t fw_shutdown_reason(struct mcu *m);
uint32_t fw_shutdown_clock(struct mcu *m);
const char *fw_static_string(uint16_t id);
uint32_t fw_moves_in_use(struct mcu *m);
uint64_t fw_pending_steps(struct mcu *m);
uint64_t fw_timer_dispatches(struct mcu *m);

/* "name,clock,dir\n" per pulse into `out` (room for 48 bytes per pulse
 * plus the longest name); returns the bytes written. */
size_t fw_format_pulses(const struct fw_pulse *p, size_t n,
                        const char *const *pin_names, char *out);
/* ---- `klipsim execute`'s host side (stream_plan.c, stream_exec.c) ---- */
enum { SP_OTHER, SP_STEP_DIR, SP_DIGITAL_OUT, SP_RESET_STEP, SP_CLOCKED,
       SP_TRSYNC_START, SP_CONFIG_STEPPER, SP_CONFIG_OUTPUT };
enum { SP_Q_BARRIER, SP_Q_OID, SP_Q_OID_TRSYNC, SP_Q_TRSYNC };
/* One message for the planner (delivery.DeliveryPlanner.plan): its
 * kind, which host queues it joins, its oid, trsync oid, clock field,
 * and flag (CLOCKED: the clock is a deadline; CONFIG_OUTPUT: max_duration). */
struct sp_message {
    int32_t kind, queues;
    int64_t oid, trsync_oid, clock, flag;
};
/* Where se_feed_rows stopped. */
enum { SE_DONE, SE_RARE, SE_RELEASE, SE_SLOW };
struct se_stats {
    int64_t planned, zero_clock_fixes, progress, end_clock, n_updates;
    int64_t blocks, late_groups, responses, pending;
};
struct stream_exec;
struct stream_exec *se_new(int64_t move_count, int64_t lead, int64_t end_margin,
                           int wide, int64_t window, int64_t horizon, int64_t batch,
                           int64_t qs_id, int64_t sd_id, int sd_ok);
void se_free(struct stream_exec *se);
int64_t se_plan(struct stream_exec *se, const struct sp_message *m, int64_t *clock_io,
                int64_t *deadline);
int64_t se_plan_queue_step(struct stream_exec *se, int64_t oid, int64_t interval,
                           int64_t count, int64_t add, int64_t *deadline);
int se_push(struct stream_exec *se, int64_t ready, int64_t deadline, int32_t key,
            int32_t rare, const int64_t *ints, int32_t n);
int se_feed_rows(struct stream_exec *se, const int64_t *rows, int64_t nrows,
                 int64_t *row_io);
void se_release(struct stream_exec *se, int final);
int se_emit(struct stream_exec *se, int final, int accept_rare, int32_t *rare_out);
void se_flush(struct stream_exec *se);
void se_set_responses(struct stream_exec *se, const int8_t *layout,
                      const int32_t *layout_start, int32_t id_offset, int32_t n_ids,
                      const uint8_t *loud);
int se_deliver(struct stream_exec *se, struct mcu *m, uint8_t *seq);
size_t se_output(struct stream_exec *se, uint8_t *out, size_t max);
void se_drain(struct stream_exec *se, struct mcu *m, uint64_t before);
size_t se_pins(struct stream_exec *se, int64_t *out, size_t max_rows);
size_t se_margins(struct stream_exec *se, int64_t *out, size_t max_rows);
void se_get_stats(struct stream_exec *se, struct se_stats *out);
void sp_far_step_shifts(const int64_t *slot, const int64_t *start, const int64_t *interval,
                        const int64_t *count, const int64_t *add, int64_t n,
                        int64_t *offset, int64_t *shift);
/* cffi:end */

/* The cffi wrapper module includes this header after cffi's own: its
 * wrappers keep the GIL (chelper/src/cffi_keep_gil.h; a no-op in the
 * firmware's C files, which see no Python.h). */
#include "cffi_keep_gil.h"

#endif
