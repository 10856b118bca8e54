/* Endstops: pin sampling during homing.
 *
 * Contract (docs/MCU_Commands.md "endstop_home"): while homing, the pin
 * is read every rest_ticks from `clock` on; once it reads pin_value, it
 * must keep reading pin_value for sample_count samples sample_ticks apart,
 * then the endstop triggers its trsync with trigger_reason and stops
 * sampling.  endstop_home with sample_count=0 stops homing.
 * endstop_query_state reports the homing flag, the next sample time and
 * the pin level.
 */
#include "fw.h"
#include "board.h"

struct endstop {
    struct timer time;
    struct endstop *next_obj;
    struct trsync *ts;
    uint32_t pin, rest_ticks, sample_ticks;
    uint8_t oid, homing, pin_value, sample_count, matches, trigger_reason;
};

static uint_fast8_t endstop_event(struct mcu *m, struct timer *t)
{
    struct endstop *e = (struct endstop *)t;
    if (gpio_in_read(m, e->pin) != e->pin_value) {
        e->matches = 0;
        t->waketime += e->rest_ticks;
        return SF_RESCHEDULE;
    }
    if (++e->matches < e->sample_count) {
        t->waketime += e->sample_ticks;
        return SF_RESCHEDULE;
    }
    e->homing = 0;
    trsync_do_trigger(m, e->ts, e->trigger_reason);
    return SF_DONE;
}

DECL_COMMAND(command_config_endstop, "config_endstop oid=%c pin=%c pull_up=%c");
void command_config_endstop(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid pin");
    struct endstop *e = oid_alloc(m, args[0], OT_ENDSTOP, sizeof(*e));
    e->oid = args[0];
    e->pin = args[1];
    e->time.func = endstop_event;
    e->next_obj = m->endstops;
    m->endstops = e;
}

DECL_COMMAND(command_endstop_home,
             "endstop_home oid=%c clock=%u sample_ticks=%u sample_count=%c"
             " rest_ticks=%u pin_value=%c trsync_oid=%c trigger_reason=%c");
void command_endstop_home(struct mcu *m, uint32_t *args)
{
    struct endstop *e = oid_lookup(m, args[0], OT_ENDSTOP);
    sched_del_timer(m, &e->time);
    e->homing = 0;
    e->sample_count = args[3];
    if (!e->sample_count)
        return;
    e->ts = trsync_lookup(m, args[6]);
    /* at least one tick between samples: the simulated clock must move */
    e->sample_ticks = args[2] ? args[2] : 1;
    e->rest_ticks = args[4] ? args[4] : 1;
    e->pin_value = args[5] ? 1 : 0;
    e->trigger_reason = args[7];
    e->matches = 0;
    e->homing = 1;
    e->time.waketime = args[1];
    sched_add_timer(m, &e->time);
}

DECL_COMMAND_FLAGS(command_endstop_query_state, HF_IN_SHUTDOWN,
                   "endstop_query_state oid=%c");
void command_endstop_query_state(struct mcu *m, uint32_t *args)
{
    struct endstop *e = oid_lookup(m, args[0], OT_ENDSTOP);
    sendf(m, "endstop_state oid=%c homing=%c next_clock=%u pin_value=%c",
          e->oid, e->homing, e->time.waketime, gpio_in_read(m, e->pin));
}

void endstop_shutdown_all(struct mcu *m)
{
    for (struct endstop *e = m->endstops; e; e = e->next_obj)
        e->homing = 0;
}
