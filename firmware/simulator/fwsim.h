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

size_t fw_tx_available(struct mcu *m);
size_t fw_tx_read(struct mcu *m, uint8_t *out, size_t max);

/* Pulses with clock < `before` (all earlier pulses are final). */
size_t fw_pulses_ready(struct mcu *m, uint64_t before);
size_t fw_pulses_take(struct mcu *m, struct fw_pulse *out, size_t count);
size_t fw_gpio_events_available(struct mcu *m);
size_t fw_gpio_events_take(struct mcu *m, struct fw_gpio_event *out,
                           size_t count);
void fw_set_gpio_recording(struct mcu *m, int enable);

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
/* cffi:end */

#endif
