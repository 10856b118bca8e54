/* The simulated board: board.h on a virtual clock, plus the fwsim.h API.
 *
 * Contract: modelled on BabbleSim's native_simulator: embedded code runs
 * in zero simulated time and one event loop finds the next timer,
 * advances the clock to it and calls it.  The 64-bit clock is extended
 * from the timers' 32-bit waketimes (each within 2^31 ticks of now); a
 * timer already in the past runs at the current clock (time never goes
 * back).  Pin writes, step edges and transmitted blocks go to growable
 * buffers read in bulk.  Every entry point that can run firmware code
 * catches a shutdown (longjmp) and runs the shutdown handling.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fw.h"
#include "board.h"
#include "fwsim.h"

uint64_t stepper_pending_steps(struct mcu *m);

struct board {
    uint64_t now;
    uint64_t dispatches;
    uint32_t pin_count;
    uint8_t *level, *input, *adc_watch;
    uint16_t *adc;
    int adc_watched;              /* any pin in adc_watch */
    uint64_t adc_valid_until;     /* watched values hold up to this clock */
    int record_gpio;
    int gpio_filtered;            /* record only the pins in gpio_keep */
    uint8_t *gpio_keep;
    struct fw_pulse *pulses;
    size_t pulse_len, pulse_cap;
    int only_count;               /* count steps per pin, record no pulse */
    int64_t *step_counts, *step_ups;   /* per pin (pin_count + 1 entries) */
    struct fw_gpio_event *events;
    size_t event_len, event_cap;
    uint8_t *tx;
    size_t tx_len, tx_cap;
};

/* ---- growable buffers ---- */

void *fw_grow(void *buf, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return buf;
    size_t n = *cap ? *cap : 1024;
    while (n < need)
        n *= 2;
    void *p = realloc(buf, n * item);
    if (!p) {
        fprintf(stderr, "klipsim firmware simulator: out of memory\n");
        abort();
    }
    *cap = n;
    return p;
}

/* ---- board.h ---- */

/* `inline` (board.h declares them plainly, so each still has an external
 * definition): the per-step code of the same unit (fw_hotpath.c) inlines
 * the clock read and the step edge. */
inline uint32_t timer_read_time(struct mcu *m)
{
    return (uint32_t)m->board->now;
}

int board_pin_valid(struct mcu *m, uint32_t pin)
{
    return pin < m->board->pin_count
        && (m->profile->pin_valid[pin / 8] >> (pin % 8)) & 1;
}

void gpio_out_write(struct mcu *m, uint32_t pin, uint8_t value)
{
    board_pwm_write(m, pin, value);
}

/* A hardware PWM output's duty is recorded like a level (the event value
 * is the duty; the pin's level is "on" for any nonzero duty). */
void board_pwm_write(struct mcu *m, uint32_t pin, uint32_t value)
{
    struct board *b = m->board;
    b->level[pin] = value ? 1 : 0;
    if (!b->record_gpio || (b->gpio_filtered && !b->gpio_keep[pin]))
        return;
    b->events = fw_grow(b->events, &b->event_cap, b->event_len + 1,
                     sizeof(*b->events));
    struct fw_gpio_event *e = &b->events[b->event_len++];
    e->clock = b->now;
    e->pin = pin;
    e->value = value;
}

uint8_t gpio_in_read(struct mcu *m, uint32_t pin)
{
    return m->board->input[pin];
}

/* Recording a pulse (the buffer may grow): off the counting path. */
static __attribute__((noinline)) void record_pulse(struct board *b,
                                                   uint32_t step_pin, uint8_t dir)
{
    if (b->pulse_len == b->pulse_cap)
        b->pulses = fw_grow(b->pulses, &b->pulse_cap, b->pulse_len + 1,
                         sizeof(*b->pulses));
    struct fw_pulse *p = &b->pulses[b->pulse_len++];
    p->clock = b->now;
    p->pin = step_pin;
    p->dir = dir;
}

inline void board_step_edge(struct mcu *m, uint32_t step_pin, uint8_t dir)
{
    struct board *b = m->board;
    if (b->only_count) {        /* (a step pin is a valid pin: < pin_count) */
        b->step_counts[step_pin]++;
        b->step_ups[step_pin] += dir;
        return;
    }
    record_pulse(b, step_pin, dir);
}

uint16_t adc_read(struct mcu *m, uint32_t pin)
{
    return m->board->adc[pin];
}

/* The simulated SPI chips answer every byte with 0 (firmware/README.md). */
void board_spi_transfer(struct mcu *m, uint32_t bus, uint8_t *data, uint8_t len)
{
    (void)m;
    (void)bus;
    memset(data, 0, len);
}

void serial_transmit(struct mcu *m, const uint8_t *block, size_t len)
{
    struct board *b = m->board;
    b->tx = fw_grow(b->tx, &b->tx_cap, b->tx_len + len, 1);
    memcpy(b->tx + b->tx_len, block, len);
    b->tx_len += len;
}

/* ---- profiles and instances ---- */

int fw_profile_count(void)
{
    return fw_profile_count_;
}

const char *fw_profile_name(int index)
{
    return index >= 0 && index < fw_profile_count_
        ? fw_profiles[index].name : NULL;
}

static const struct profile_entry *find_profile(const char *name)
{
    for (int i = 0; i < fw_profile_count_; i++)
        if (strcmp(fw_profiles[i].name, name) == 0)
            return &fw_profiles[i];
    return NULL;
}

const uint8_t *fw_profile_dictionary(const char *profile, size_t *len)
{
    const struct profile_entry *p = find_profile(profile);
    *len = p ? p->dict_zlib_len : 0;
    return p ? p->dict_zlib : NULL;
}

struct mcu *fw_new(const char *profile)
{
    const struct profile_entry *p = find_profile(profile);
    if (!p)
        return NULL;
    struct mcu *m = calloc(1, sizeof(*m));
    struct board *b = calloc(1, sizeof(*b));
    m->board = b;
    m->profile = p;
    b->pin_count = p->pin_count;
    b->level = calloc(p->pin_count + 1, 1);
    b->input = calloc(p->pin_count + 1, 1);
    b->adc = calloc(p->pin_count + 1, sizeof(uint16_t));
    b->adc_watch = calloc(p->pin_count + 1, 1);
    b->gpio_keep = calloc(p->pin_count + 1, 1);
    b->step_counts = calloc(p->pin_count + 1, sizeof(int64_t));
    b->step_ups = calloc(p->pin_count + 1, sizeof(int64_t));
    b->record_gpio = 1;
    m->move_count = p->move_count;
    m->move_pool = calloc(p->move_count + 1, sizeof(struct move_node));
    move_pool_init(m);
    sched_init(m);
    return m;
}

void fw_free(struct mcu *m)
{
    if (!m)
        return;
    struct board *b = m->board;
    for (size_t i = 0; i < m->alloc_count; i++)
        free(m->allocs[i]);
    free(m->allocs);
    free(m->move_pool);
    free(b->level);
    free(b->input);
    free(b->adc);
    free(b->adc_watch);
    free(b->gpio_keep);
    free(b->step_counts);
    free(b->step_ups);
    free(b->pulses);
    free(b->events);
    free(b->tx);
    free(b);
    free(m);
}

/* ---- running ---- */

uint64_t fw_now(struct mcu *m)
{
    return m->board->now;
}

uint32_t fw_clock_freq(struct mcu *m)
{
    return m->profile->clock_freq;
}

/* Commands run at the current clock, then the tasks they woke (as the
 * MCU's main loop would, in zero time). */
void fw_receive(struct mcu *m, const uint8_t *data, size_t len)
{
    jmp_buf jb;
    m->shutdown_jmp = &jb;
    if (setjmp(jb)) {
        sched_run_shutdown(m);
        return;
    }
    command_receive(m, data, len);
    if (m->tasks_pending)
        sched_run_tasks(m);
}

void fw_set_rx_buffer(struct mcu *m, size_t size)
{
    m->rx_limit = size < sizeof(m->rx_buf) ? size : sizeof(m->rx_buf);
}

uint64_t fw_rx_overflow(struct mcu *m)
{
    return m->rx_overflow;
}

/* The head timer samples a watched ADC pin whose value may be stale. */
static int stale_sample(struct mcu *m, uint64_t wake)
{
    struct board *b = m->board;
    uint32_t pin;
    return wake > b->adc_valid_until && analog_timer_pin(m->timer_list, &pin)
        && b->adc_watch[pin];
}

/* fw_run_until's loop, apart from the setjmp so that its state can live
 * in registers (a setjmp caller keeps its locals in memory).  flatten:
 * the scheduler's dispatch and reinsertion (same unit, fw_hotpath.c) are
 * inlined into it; only the timer's callback stays a call. */
static __attribute__((flatten, noinline)) int run_loop(struct mcu *m,
                                                       uint64_t until,
                                                       int stop)
{
    struct board *b = m->board;
    int watch = (stop & FW_STOP_SAMPLE) && b->adc_watched;
    for (;;) {
        if (m->tasks_pending)
            sched_run_tasks(m);
        if ((stop & FW_STOP_OUTPUT) && b->tx_len)
            return FW_RUN_OUTPUT;
        uint64_t now = b->now;
        int32_t ahead = (int32_t)(m->timer_list->waketime - (uint32_t)now);
        uint64_t wake = ahead > 0 ? now + (uint64_t)ahead : now;
        if (wake > until)
            break;
        b->now = wake;
        if (watch && stale_sample(m, wake))
            return FW_RUN_SAMPLE;
        b->dispatches++;
        sched_dispatch_head(m);
    }
    if (b->now < until)
        b->now = until;
    return FW_RUN_REACHED;
}

int fw_run_until(struct mcu *m, uint64_t until, int stop)
{
    jmp_buf jb;
    m->shutdown_jmp = &jb;
    if (setjmp(jb))
        sched_run_shutdown(m);
    return run_loop(m, until, stop);
}

/* A process MCU that gets the CPU at `now_clock` (maybe after some of its
 * timers were due): the clock jumps there and every due timer runs at
 * that time, in a row, as long as timers stay due (the late-repeat rule
 * may shut it down).  Returns the dispatches made. */
uint64_t fw_run_late(struct mcu *m, uint64_t now_clock)
{
    struct board *b = m->board;
    uint64_t before = b->dispatches;
    uint32_t repeats = 0;
    jmp_buf jb;
    m->shutdown_jmp = &jb;
    if (setjmp(jb)) {
        sched_run_shutdown(m);
        return b->dispatches - before;
    }
    if (now_clock > b->now)
        b->now = now_clock;
    for (;;) {
        if (m->tasks_pending)
            sched_run_tasks(m);
        if ((int32_t)(m->timer_list->waketime - (uint32_t)b->now) > 0)
            break;
        sched_check_late_repeat(m, repeats);
        repeats++;
        b->dispatches++;
        sched_dispatch_head(m);
    }
    return b->dispatches - before;
}

uint64_t fw_quiet_until(struct mcu *m)
{
    if (sched_is_shutdown(m))
        return UINT64_MAX;
    return sched_quiet_until(m, m->board->now);
}

void fw_set_adc_watch(struct mcu *m, uint32_t pin, int watch)
{
    struct board *b = m->board;
    if (pin >= b->pin_count)
        return;
    b->adc_watch[pin] = watch ? 1 : 0;
    b->adc_watched = 0;
    for (uint32_t i = 0; i < b->pin_count; i++)
        b->adc_watched |= b->adc_watch[i];
}

void fw_set_adc_valid_until(struct mcu *m, uint64_t clock)
{
    m->board->adc_valid_until = clock;
}

uint64_t fw_next_timer(struct mcu *m)
{
    struct board *b = m->board;
    int32_t ahead = (int32_t)(m->timer_list->waketime - (uint32_t)b->now);
    return (uint64_t)((int64_t)b->now + ahead);
}

/* ---- the host side of the serial link ---- */

/* Consume the tx buffer if it holds exactly the acks for blocks
 * first_seq .. first_seq + count - 1. */
static int consume_acks(struct board *b, uint8_t first_seq, size_t count)
{
    if (b->tx_len != count * MESSAGE_MIN)
        return 0;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *blk = b->tx + i * MESSAGE_MIN;
        uint8_t want = MESSAGE_DEST | ((first_seq + i + 1) & MESSAGE_SEQ_MASK);
        if (blk[0] != MESSAGE_MIN || blk[1] != want)
            return 0;
    }
    b->tx_len = 0;
    return 1;
}

/* Encode, pack, frame and receive messages; ints[pos0..] are the
 * integers, msg_ends[i] (absolute indexes) ends message i.  Returns
 * 2 * blocks (+1 if there is output besides the matching acks), or -1. */
static int host_send(struct mcu *m, const int64_t *ints, size_t pos,
                     const uint32_t *msg_ends, size_t nmsgs, uint8_t *seq)
{
    uint8_t payload[MESSAGE_PAYLOAD_MAX], msg[MESSAGE_MAX * 2], block[MESSAGE_MAX];
    size_t plen = 0, blocks = 0;
    uint8_t first_seq = *seq;
    size_t tx_before = m->board->tx_len;
    for (size_t i = 0; i < nmsgs; i++) {
        uint8_t *p = msg;
        for (; pos < msg_ends[i]; pos++) {
            if ((ints[pos] >> 32) == FW_RAW_BYTE_TAG >> 32)
                *p++ = (uint8_t)ints[pos];    /* a buffer parameter's byte */
            else
                p = command_encode_vlq(p, (uint32_t)ints[pos]);
            if (p - msg > MESSAGE_PAYLOAD_MAX)
                return -1;
        }
        size_t mlen = p - msg;
        if (plen + mlen > MESSAGE_PAYLOAD_MAX) {
            fw_receive(m, block, command_frame_block(block, payload, plen, *seq));
            *seq = (*seq + 1) & MESSAGE_SEQ_MASK;
            blocks++;
            plen = 0;
        }
        memcpy(payload + plen, msg, mlen);
        plen += mlen;
    }
    if (plen) {
        fw_receive(m, block, command_frame_block(block, payload, plen, *seq));
        *seq = (*seq + 1) & MESSAGE_SEQ_MASK;
        blocks++;
    }
    if (!tx_before && consume_acks(m->board, first_seq, blocks))
        return 2 * (int)blocks;
    return 2 * (int)blocks + 1;
}

int fw_host_send(struct mcu *m, const int64_t *ints, const uint32_t *msg_ends,
                 size_t nmsgs, uint8_t *seq)
{
    return host_send(m, ints, 0, msg_ends, nmsgs, seq);
}

long fw_deliver_groups(struct mcu *m, const int64_t *ints, const uint32_t *msg_ends,
                       const uint32_t *group_ends, const uint64_t *group_clocks,
                       size_t g0, size_t ngroups, uint8_t *seq,
                       struct fw_delivery *stats)
{
    size_t msg0 = g0 ? group_ends[g0 - 1] : 0;
    for (size_t g = g0; g < ngroups; g++) {
        if (fw_run_until(m, group_clocks[g], 1) == FW_RUN_OUTPUT)
            return (long)g;
        if (group_clocks[g] < m->board->now)
            stats->late_groups++;
        size_t pos0 = msg0 ? msg_ends[msg0 - 1] : 0;
        int r = host_send(m, ints, pos0, msg_ends + msg0, group_ends[g] - msg0, seq);
        if (r < 0)
            return -1;
        stats->blocks += r >> 1;
        msg0 = group_ends[g];
        if (r & 1)
            return (long)g + 1;
    }
    return (long)ngroups;
}

/* ---- the MCU node's arrival (fwsim.h) ---- */

int fw_arrive(struct mcu *m, uint64_t clock, int stop, const uint8_t *data, size_t len,
              uint8_t *tx_out, size_t tx_max, uint64_t *info)
{
    int state = fw_run_until(m, clock, stop);
    if (state != FW_RUN_REACHED)
        return state;
    if (sched_is_shutdown(m))
        return FW_RUN_OUTPUT;
    fw_receive(m, data, len);
    struct board *b = m->board;
    info[FW_ARRIVE_TX] = b->tx_len;
    if (b->tx_len <= tx_max) {
        memcpy(tx_out, b->tx, b->tx_len);
        b->tx_len = 0;
    }
    info[FW_ARRIVE_RX_LOST] = m->rx_overflow;
    info[FW_ARRIVE_QUIET] = fw_quiet_until(m);
    info[FW_ARRIVE_NOW] = b->now;
    return FW_RUN_REACHED;
}

/* ---- reading the buffers ---- */

size_t fw_tx_available(struct mcu *m)
{
    return m->board->tx_len;
}

size_t fw_tx_read(struct mcu *m, uint8_t *out, size_t max)
{
    struct board *b = m->board;
    size_t n = b->tx_len < max ? b->tx_len : max;
    memcpy(out, b->tx, n);
    memmove(b->tx, b->tx + n, b->tx_len - n);
    b->tx_len -= n;
    return n;
}

size_t fw_pulses_ready(struct mcu *m, uint64_t before)
{
    struct board *b = m->board;
    size_t n = b->pulse_len;
    while (n && b->pulses[n - 1].clock >= before)
        n--;
    return n;
}

void fw_set_pulse_counting(struct mcu *m, int only_count)
{
    m->board->only_count = only_count;
}

size_t fw_pulse_counts(struct mcu *m, int64_t *steps, int64_t *ups, size_t npins)
{
    struct board *b = m->board;
    size_t n = npins < b->pin_count + 1 ? npins : b->pin_count + 1;
    if (n) {
        memcpy(steps, b->step_counts, n * sizeof(int64_t));
        memcpy(ups, b->step_ups, n * sizeof(int64_t));
    }
    return b->pin_count + 1;
}

size_t fw_pulses_take(struct mcu *m, struct fw_pulse *out, size_t count)
{
    struct board *b = m->board;
    if (count > b->pulse_len)
        count = b->pulse_len;
    memcpy(out, b->pulses, count * sizeof(*out));
    memmove(b->pulses, b->pulses + count,
            (b->pulse_len - count) * sizeof(*out));
    b->pulse_len -= count;
    return count;
}

size_t fw_gpio_events_available(struct mcu *m)
{
    return m->board->event_len;
}

size_t fw_gpio_events_take(struct mcu *m, struct fw_gpio_event *out,
                           size_t count)
{
    struct board *b = m->board;
    if (count > b->event_len)
        count = b->event_len;
    memcpy(out, b->events, count * sizeof(*out));
    memmove(b->events, b->events + count,
            (b->event_len - count) * sizeof(*out));
    b->event_len -= count;
    return count;
}

void fw_set_gpio_recording(struct mcu *m, int enable)
{
    m->board->record_gpio = enable;
}

void fw_record_gpio_only(struct mcu *m, const uint32_t *pins, size_t count)
{
    struct board *b = m->board;
    b->gpio_filtered = 1;
    memset(b->gpio_keep, 0, b->pin_count);
    for (size_t i = 0; i < count; i++)
        if (pins[i] < b->pin_count)
            b->gpio_keep[pins[i]] = 1;
}

void fw_set_input(struct mcu *m, uint32_t pin, int value)
{
    if (pin < m->board->pin_count)
        m->board->input[pin] = value ? 1 : 0;
}

void fw_set_adc(struct mcu *m, uint32_t pin, uint16_t value)
{
    if (pin < m->board->pin_count)
        m->board->adc[pin] = value;
}

int fw_pin_level(struct mcu *m, uint32_t pin)
{
    return pin < m->board->pin_count ? m->board->level[pin] : -1;
}

/* ---- state ---- */

int fw_is_shutdown(struct mcu *m)
{
    return sched_is_shutdown(m);
}

uint16_t fw_shutdown_reason(struct mcu *m)
{
    return m->shutdown_reason;
}

uint32_t fw_shutdown_clock(struct mcu *m)
{
    return m->shutdown_clock;
}

const char *fw_static_string(uint16_t id)
{
    return id < fw_static_string_count ? fw_static_strings[id] : NULL;
}

uint32_t fw_moves_in_use(struct mcu *m)
{
    return m->moves_in_use;
}

uint64_t fw_pending_steps(struct mcu *m)
{
    return stepper_pending_steps(m);
}

uint64_t fw_timer_dispatches(struct mcu *m)
{
    return m->board->dispatches;
}

/* ---- pulse text ---- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = '0' + (char)(v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

size_t fw_format_pulses(const struct fw_pulse *p, size_t n,
                        const char *const *pin_names, char *out)
{
    char *o = out;
    for (size_t i = 0; i < n; i++) {
        const char *name = pin_names[p[i].pin];
        size_t len = strlen(name);
        memcpy(o, name, len);
        o += len;
        *o++ = ',';
        o = put_u64(o, p[i].clock);
        *o++ = ',';
        *o++ = p[i].dir ? '1' : '0';
        *o++ = '\n';
    }
    return o - out;
}
