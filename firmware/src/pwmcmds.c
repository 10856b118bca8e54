/* Hardware PWM outputs with scheduled duty updates.
 *
 * Contract (docs/MCU_Commands.md, Klipper's pwmcmds): config_pwm_out sets
 * the pin's PWM peripheral to `value` (0..PWM_MAX) with period
 * cycle_ticks; queue_pwm_out schedules a new duty at `clock` (one
 * move-queue node each); set_pwm_out sets a pin at once.  As for digital
 * outputs, with max_duration nonzero a duty other than default_value must
 * be followed by the next update within max_duration: an update queued
 * later shuts down with "Scheduled pwm event will exceed max_duration",
 * reaching the deadline with nothing queued with "Missed scheduling of
 * next hard pwm event".  The first queued update is scheduled with the
 * "Timer too close" check.  Shutdown sets default_value.  The duty goes
 * to the board as a value (board_pwm_write), not as toggling edges.
 */
#include "fw.h"
#include "board.h"

#define PF_CHECK_END 0x01
#define PF_TIMER_ACTIVE 0x02

struct pwm_out {
    struct timer time;
    struct pwm_out *next_obj;
    uint32_t pin, cycle_ticks, max_duration, end_time;
    struct move_queue mq;
    uint16_t value, default_value;
    uint8_t flags;
};

static void pwm_apply(struct mcu *m, struct pwm_out *p, uint16_t value, uint32_t now)
{
    p->value = value;
    board_pwm_write(m, p->pin, value);
    p->flags &= ~PF_CHECK_END;
    if (p->max_duration && value != p->default_value) {
        p->flags |= PF_CHECK_END;
        p->end_time = now + p->max_duration;
    }
}

static void pwm_check_next_update(struct mcu *m, struct pwm_out *p)
{
    if (p->flags & PF_CHECK_END && p->mq.first
        && timer_is_before(p->end_time, p->mq.first->a))
        shutdown(m, "Scheduled pwm event will exceed max_duration");
}

static uint_fast8_t pwm_event(struct mcu *m, struct timer *t)
{
    struct pwm_out *p = (struct pwm_out *)t;
    uint32_t now = timer_read_time(m);
    struct move_node *n;
    while ((n = p->mq.first) && !timer_is_before(now, n->a)) {
        move_queue_pop(&p->mq);
        uint32_t clock = n->a;
        uint16_t value = n->b;
        move_free(m, n);
        pwm_apply(m, p, value, clock);
        pwm_check_next_update(m, p);
    }
    if (p->flags & PF_CHECK_END && !timer_is_before(now, p->end_time))
        shutdown(m, "Missed scheduling of next hard pwm event");
    if (p->mq.first) {
        t->waketime = p->mq.first->a;
    } else if (p->flags & PF_CHECK_END) {
        t->waketime = p->end_time;
    } else {
        p->flags &= ~PF_TIMER_ACTIVE;
        return SF_DONE;
    }
    return SF_RESCHEDULE;
}

DECL_COMMAND(command_config_pwm_out,
             "config_pwm_out oid=%c pin=%u cycle_ticks=%u value=%hu"
             " default_value=%hu max_duration=%u");
void command_config_pwm_out(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid PWM pin");
    struct pwm_out *p = oid_alloc(m, args[0], OT_PWM_OUT, sizeof(*p));
    p->pin = args[1];
    p->cycle_ticks = args[2];
    p->default_value = args[4];
    p->max_duration = args[5];
    p->time.func = pwm_event;
    p->value = args[3];
    board_pwm_write(m, p->pin, p->value);
    p->next_obj = m->pwm_outs;
    m->pwm_outs = p;
}

DECL_COMMAND(command_queue_pwm_out, "queue_pwm_out oid=%c clock=%u value=%hu");
void command_queue_pwm_out(struct mcu *m, uint32_t *args)
{
    struct pwm_out *p = oid_lookup(m, args[0], OT_PWM_OUT);
    struct move_node *n = move_alloc(m);
    n->a = args[1];
    n->b = args[2];
    int first = !p->mq.first;
    move_queue_push(&p->mq, n);
    if (!first)
        return;
    pwm_check_next_update(m, p);
    if (p->flags & PF_TIMER_ACTIVE) {
        if (!timer_is_before(n->a, p->time.waketime))
            return;
        sched_del_timer(m, &p->time);
    }
    p->time.waketime = n->a;
    p->flags |= PF_TIMER_ACTIVE;
    sched_add_timer(m, &p->time);
}

DECL_COMMAND(command_set_pwm_out, "set_pwm_out pin=%u cycle_ticks=%u value=%hu");
void command_set_pwm_out(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[0]))
        shutdown(m, "Not a valid PWM pin");
    board_pwm_write(m, args[0], args[2]);
}

void pwm_shutdown_all(struct mcu *m)
{
    for (struct pwm_out *p = m->pwm_outs; p; p = p->next_obj) {
        move_queue_clear(m, &p->mq);
        p->flags = 0;
        board_pwm_write(m, p->pin, p->default_value);
        p->value = p->default_value;
    }
}
