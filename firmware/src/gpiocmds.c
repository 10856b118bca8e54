/* Digital outputs with scheduled updates and software PWM.
 *
 * Contract (docs/MCU_Commands.md, KLIPPER-FACTS 2.7 and 3.1):
 * config_digital_out sets the pin to `value`; queue_digital_out schedules
 * an update at `clock` (one move-queue node each): on_ticks 0 is off,
 * on_ticks >= cycle_ticks (or any nonzero on_ticks without a PWM cycle) is
 * on, anything between toggles the pin with on_ticks high per cycle_ticks
 * period.  An update takes effect exactly at its clock.  If max_duration
 * is nonzero and an update leaves the pin in a non-default state, the next
 * update must come within max_duration: an update queued later than that
 * shuts down with "Scheduled digital out event will exceed max_duration",
 * and reaching the deadline with nothing queued shuts down with "Missed
 * scheduling of next digital out event".  Shutdown sets default_value.
 * The first queued update is scheduled with the "Timer too close" check.
 */
#include "fw.h"
#include "board.h"

#define DF_TOGGLING 0x01
#define DF_CHECK_END 0x02
#define DF_TIMER_ACTIVE 0x04

struct digital_out {
    struct timer time;
    struct digital_out *next_obj;
    uint32_t pin, cycle_ticks, max_duration;
    uint32_t on_ticks;      /* PWM high time while toggling */
    uint32_t toggle_time;   /* next PWM edge while toggling */
    uint32_t end_time;      /* deadline for the next update (DF_CHECK_END) */
    struct move_queue mq;
    uint8_t value, default_value, flags;
};

static void digital_set(struct mcu *m, struct digital_out *d, uint8_t value)
{
    d->value = value;
    gpio_out_write(m, d->pin, value);
}

/* Put the pin in its new state at `now` and arm the max_duration check. */
static void digital_apply(struct mcu *m, struct digital_out *d,
                          uint32_t on_ticks, uint32_t now)
{
    int pwm = d->cycle_ticks && on_ticks && on_ticks < d->cycle_ticks;
    d->flags &= ~(DF_TOGGLING | DF_CHECK_END);
    if (pwm) {
        d->flags |= DF_TOGGLING;
        d->on_ticks = on_ticks;
        d->toggle_time = now + on_ticks;
        digital_set(m, d, 1);
    } else {
        digital_set(m, d, on_ticks ? 1 : 0);
    }
    if (d->max_duration && (pwm || d->value != d->default_value)) {
        d->flags |= DF_CHECK_END;
        d->end_time = now + d->max_duration;
    }
}

/* Earliest pending event; returns 0 if there is none. */
static int digital_next_wake(struct digital_out *d, uint32_t *wake)
{
    int have = 0;
    uint32_t w = 0;
    if (d->mq.first) {
        w = d->mq.first->a;
        have = 1;
    }
    if (d->flags & DF_TOGGLING && (!have || timer_is_before(d->toggle_time, w))) {
        w = d->toggle_time;
        have = 1;
    }
    if (d->flags & DF_CHECK_END && (!have || timer_is_before(d->end_time, w))) {
        w = d->end_time;
        have = 1;
    }
    *wake = w;
    return have;
}

static void digital_check_next_update(struct mcu *m, struct digital_out *d)
{
    if (d->flags & DF_CHECK_END && d->mq.first
        && timer_is_before(d->end_time, d->mq.first->a))
        shutdown(m, "Scheduled digital out event will exceed max_duration");
}

/* Handle the events due at `now`: updates first, then the deadline,
 * then one PWM edge (timed from the previous scheduled edge; the next
 * edge is its own timer dispatch, as Klipper's toggle timer is, so a
 * Linux-process MCU that fell behind repeats it and meets the late-repeat
 * rule, sched_check_late_repeat). */
static void digital_handle_due(struct mcu *m, struct digital_out *d,
                               uint32_t now)
{
    for (;;) {
        struct move_node *n = d->mq.first;
        if (n && !timer_is_before(now, n->a)) {
            move_queue_pop(&d->mq);
            uint32_t clock = n->a, on_ticks = n->b;
            move_free(m, n);
            digital_apply(m, d, on_ticks, clock);
            digital_check_next_update(m, d);
        } else if (d->flags & DF_CHECK_END
                   && !timer_is_before(now, d->end_time)) {
            shutdown(m, "Missed scheduling of next digital out event");
        } else if (d->flags & DF_TOGGLING
                   && !timer_is_before(now, d->toggle_time)) {
            uint8_t v = !d->value;
            digital_set(m, d, v);
            d->toggle_time += v ? d->on_ticks : d->cycle_ticks - d->on_ticks;
            return;
        } else {
            return;
        }
    }
}

/* A digital out transmits only by shutting down: at its max_duration
 * deadline, or on applying a queued update (whose successor may exceed
 * the new deadline); PWM edges are silent. */
static int64_t digital_quiet(struct mcu *m, struct timer *t, uint32_t now)
{
    (void)m;
    struct digital_out *d = (struct digital_out *)t;
    int64_t best = QUIET_FOREVER;
    if (d->flags & DF_CHECK_END)
        best = (int32_t)(d->end_time - now);
    if (d->max_duration && d->mq.first) {
        int64_t next = (int32_t)(d->mq.first->a - now);
        if (next < best)
            best = next;
    }
    return best;
}

static uint_fast8_t digital_event(struct mcu *m, struct timer *t)
{
    struct digital_out *d = (struct digital_out *)t;
    digital_handle_due(m, d, timer_read_time(m));
    if (!digital_next_wake(d, &t->waketime)) {
        d->flags &= ~DF_TIMER_ACTIVE;
        return SF_DONE;
    }
    return SF_RESCHEDULE;
}

/* (Re)arm the timer at `wake` if that is earlier than its current time. */
static void digital_schedule(struct mcu *m, struct digital_out *d,
                             uint32_t wake)
{
    if (d->flags & DF_TIMER_ACTIVE) {
        if (!timer_is_before(wake, d->time.waketime))
            return;
        sched_del_timer(m, &d->time);
    }
    d->time.waketime = wake;
    d->flags |= DF_TIMER_ACTIVE;
    sched_add_timer(m, &d->time);
}

DECL_COMMAND(command_config_digital_out,
             "config_digital_out oid=%c pin=%u value=%c default_value=%c"
             " max_duration=%u");
void command_config_digital_out(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid pin");
    struct digital_out *d = oid_alloc(m, args[0], OT_DIGITAL_OUT, sizeof(*d));
    d->pin = args[1];
    d->default_value = args[3] ? 1 : 0;
    d->max_duration = args[4];
    d->time.func = digital_event;
    d->time.quiet = digital_quiet;
    digital_set(m, d, args[2] ? 1 : 0);
    d->next_obj = m->digital_outs;
    m->digital_outs = d;
}

DECL_COMMAND(command_set_digital_out_pwm_cycle,
             "set_digital_out_pwm_cycle oid=%c cycle_ticks=%u");
void command_set_digital_out_pwm_cycle(struct mcu *m, uint32_t *args)
{
    struct digital_out *d = oid_lookup(m, args[0], OT_DIGITAL_OUT);
    if (d->mq.first)
        shutdown(m, "Can not set soft pwm cycle ticks while updates pending");
    d->cycle_ticks = args[1];
}

DECL_COMMAND(command_queue_digital_out,
             "queue_digital_out oid=%c clock=%u on_ticks=%u");
void command_queue_digital_out(struct mcu *m, uint32_t *args)
{
    struct digital_out *d = oid_lookup(m, args[0], OT_DIGITAL_OUT);
    struct move_node *n = move_alloc(m);
    n->a = args[1];
    n->b = args[2];
    int first = !d->mq.first;
    move_queue_push(&d->mq, n);
    if (!first)
        return;
    digital_check_next_update(m, d);
    digital_schedule(m, d, n->a);
}

DECL_COMMAND(command_update_digital_out, "update_digital_out oid=%c value=%c");
void command_update_digital_out(struct mcu *m, uint32_t *args)
{
    struct digital_out *d = oid_lookup(m, args[0], OT_DIGITAL_OUT);
    if (d->mq.first)
        shutdown(m, "update_digital_out not valid with active queue");
    sched_del_timer(m, &d->time);
    d->flags &= ~DF_TIMER_ACTIVE;
    uint32_t now = timer_read_time(m);
    /* a plain level, never a PWM duty: "on" is a full cycle or more */
    digital_apply(m, d, args[1] ? UINT32_MAX : 0, now);
    if (d->flags & DF_CHECK_END)
        digital_schedule(m, d, d->end_time);
}

DECL_COMMAND(command_set_digital_out, "set_digital_out pin=%u value=%c");
void command_set_digital_out(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[0]))
        shutdown(m, "Not a valid pin");
    gpio_out_write(m, args[0], args[1] ? 1 : 0);
}

void digital_out_shutdown_all(struct mcu *m)
{
    for (struct digital_out *d = m->digital_outs; d; d = d->next_obj) {
        move_queue_clear(m, &d->mq);
        d->flags = 0;
        digital_set(m, d, d->default_value);
    }
}
