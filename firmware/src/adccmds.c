/* Analog inputs: periodic oversampled readings of a (simulated) sensor.
 *
 * Contract (docs/MCU_Commands.md "query_analog_in", KLIPPER-FACTS 2.7):
 * from `clock` on, every rest_ticks, take sample_count conversions
 * sample_ticks apart and sum them.  A sum outside [min_value, max_value]
 * for range_check_count consecutive readings shuts down with "ADC out of
 * range" (range_check_count=0 disables the check).  Sums are 16-bit little-endian; once bytes_per_report bytes
 * are collected they are sent as "analog_in_state" with next_clock = the
 * start of the next reading.  sample_count=0 stops the readings.
 */
#include <string.h>
#include "fw.h"
#include "board.h"

#define ANALOG_REPORT_MAX 16

struct analog_in {
    struct timer time;
    struct analog_in *next_obj;
    uint32_t pin, rest_ticks, sample_ticks, next_begin_time, sum;
    uint16_t min_value, max_value;
    uint8_t oid, sample_count, state, range_check_count, invalid_count;
    uint8_t bytes_per_report, buf_len, report_len, report_pending;
    uint8_t buf[ANALOG_REPORT_MAX], report[ANALOG_REPORT_MAX];
    uint32_t report_next_clock;
};

static void analog_check_range(struct mcu *m, struct analog_in *a)
{
    if (!a->range_check_count
        || (a->sum >= a->min_value && a->sum <= a->max_value)) {
        a->invalid_count = 0;
        return;
    }
    if (++a->invalid_count >= a->range_check_count)
        try_shutdown(m, "ADC out of range");
}

static void analog_collect(struct mcu *m, struct analog_in *a)
{
    a->buf[a->buf_len++] = a->sum & 0xff;
    a->buf[a->buf_len++] = (a->sum >> 8) & 0xff;
    if (a->buf_len < a->bytes_per_report)
        return;
    memcpy(a->report, a->buf, a->buf_len);
    a->report_len = a->buf_len;
    a->report_next_clock = a->next_begin_time;
    a->report_pending = 1;
    a->buf_len = 0;
    m->analog_report_pending = 1;
    sched_wake_tasks(m);
}

static uint_fast8_t analog_event(struct mcu *m, struct timer *t)
{
    struct analog_in *a = (struct analog_in *)t;
    a->sum += adc_read(m, a->pin);
    if (++a->state < a->sample_count) {
        t->waketime += a->sample_ticks;
        return SF_RESCHEDULE;
    }
    a->next_begin_time += a->rest_ticks;
    analog_check_range(m, a);
    analog_collect(m, a);
    a->state = 0;
    a->sum = 0;
    t->waketime = a->next_begin_time;
    return SF_RESCHEDULE;
}

/* An analog input reports (or shuts down "ADC out of range") only at
 * the last sample of a report. */
static int64_t analog_quiet(struct mcu *m, struct timer *t, uint32_t now)
{
    (void)m;
    struct analog_in *a = (struct analog_in *)t;
    return (int64_t)(int32_t)(t->waketime - now)
        + (int64_t)(a->sample_count - 1 - a->state) * a->sample_ticks;
}

/* The ADC pin an analog input timer samples next (for the simulator,
 * which may need to set the value first); 0 if `t` is another timer. */
int analog_timer_pin(struct timer *t, uint32_t *pin)
{
    if (t->func != analog_event)
        return 0;
    *pin = ((struct analog_in *)t)->pin;
    return 1;
}

DECL_COMMAND(command_config_analog_in, "config_analog_in oid=%c pin=%u");
void command_config_analog_in(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid ADC pin");
    struct analog_in *a = oid_alloc(m, args[0], OT_ANALOG_IN, sizeof(*a));
    a->oid = args[0];
    a->pin = args[1];
    a->time.func = analog_event;
    a->time.quiet = analog_quiet;
    a->next_obj = m->analogs;
    m->analogs = a;
}

DECL_COMMAND(command_query_analog_in,
             "query_analog_in oid=%c clock=%u sample_ticks=%u sample_count=%c"
             " rest_ticks=%u bytes_per_report=%c min_value=%hu max_value=%hu"
             " range_check_count=%c");
void command_query_analog_in(struct mcu *m, uint32_t *args)
{
    struct analog_in *a = oid_lookup(m, args[0], OT_ANALOG_IN);
    sched_del_timer(m, &a->time);
    a->state = a->sum = a->buf_len = a->invalid_count = 0;
    a->report_pending = 0;
    a->sample_count = args[3];
    if (!a->sample_count)
        return;
    uint8_t bpr = args[5];
    if (!bpr || bpr % 2 || bpr > ANALOG_REPORT_MAX)
        shutdown(m, "Invalid analog_in bytes_per_report");
    /* at least one tick between samples: the simulated clock must move */
    a->sample_ticks = args[2] ? args[2] : 1;
    a->rest_ticks = args[4] ? args[4] : 1;
    a->bytes_per_report = bpr;
    a->min_value = args[6];
    a->max_value = args[7];
    a->range_check_count = args[8];
    a->next_begin_time = a->time.waketime = args[1];
    sched_add_timer(m, &a->time);
}

void analog_task(struct mcu *m)
{
    if (!m->analog_report_pending)
        return;
    m->analog_report_pending = 0;
    for (struct analog_in *a = m->analogs; a; a = a->next_obj) {
        if (!a->report_pending)
            continue;
        a->report_pending = 0;
        sendf(m, "analog_in_state oid=%c next_clock=%u values=%*s", a->oid,
              a->report_next_clock, (int)a->report_len, a->report);
    }
}

void analog_shutdown_all(struct mcu *m)
{
    for (struct analog_in *a = m->analogs; a; a = a->next_obj)
        a->report_pending = 0;
    m->analog_report_pending = 0;
}
