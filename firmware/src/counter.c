/* Pulse counters (a fan's tachometer).
 *
 * Contract (docs/MCU_Commands.md, Klipper's counter module):
 * config_counter oid pin pull_up; query_counter oid clock poll_ticks
 * sample_ticks samples the pin every sample_ticks from `clock` on and
 * counts its rising edges; every poll_ticks it reports counter_state oid
 * next_clock count count_clock (next_clock: the next report's time,
 * count: rising edges so far, count_clock: the time of the last one).
 * poll_ticks 0 stops it.
 *
 * Simulated peripheral: the pin reads the board's input level.
 */
#include "fw.h"
#include "board.h"

struct counter {
    struct timer time;
    uint32_t pin, poll_ticks, sample_ticks, next_report, count, count_clock;
    uint8_t oid, last_level;
};

static uint_fast8_t counter_event(struct mcu *m, struct timer *t)
{
    struct counter *c = (struct counter *)t;
    uint32_t now = t->waketime;
    uint8_t level = gpio_in_read(m, c->pin) ? 1 : 0;
    if (level && !c->last_level) {
        c->count++;
        c->count_clock = now;
    }
    c->last_level = level;
    if (!timer_is_before(now, c->next_report)) {
        c->next_report += c->poll_ticks;
        sendf(m, "counter_state oid=%c next_clock=%u count=%u count_clock=%u",
              c->oid, c->next_report, c->count, c->count_clock);
    }
    t->waketime += c->sample_ticks;
    return SF_RESCHEDULE;
}

DECL_COMMAND(command_config_counter, "config_counter oid=%c pin=%u pull_up=%c");
void command_config_counter(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid pin");
    struct counter *c = oid_alloc(m, args[0], OT_COUNTER, sizeof(*c));
    c->oid = args[0];
    c->pin = args[1];
    c->time.func = counter_event;
}

DECL_COMMAND(command_query_counter,
             "query_counter oid=%c clock=%u poll_ticks=%u sample_ticks=%u");
void command_query_counter(struct mcu *m, uint32_t *args)
{
    struct counter *c = oid_lookup(m, args[0], OT_COUNTER);
    sched_del_timer(m, &c->time);
    c->poll_ticks = args[2];
    if (!c->poll_ticks)
        return;
    /* at least one tick between samples: the simulated clock must move */
    c->sample_ticks = args[3] ? args[3] : 1;
    c->time.waketime = c->next_report = args[1];
    c->last_level = gpio_in_read(m, c->pin) ? 1 : 0;
    sched_add_timer(m, &c->time);
}
