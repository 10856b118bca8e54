/* Stepper motors: queue_step execution.
 *
 * Contract (docs/MCU_Commands.md, KLIPPER-FACTS 3.2): queue_step appends
 * {interval, count, add} to the stepper's queue (one move-queue node).
 * The first step of a move is `interval` ticks after the stepper's
 * previous step (or after reset_step_clock's clock); after each step the
 * interval grows by `add`.  set_next_step_dir sets the dir pin level used
 * from the next queued move on.  A queue_step reaching an idle stepper
 * schedules its first step with the scheduler's "Timer too close" check;
 * one reaching a busy stepper is just appended.
 *
 * Step pulses: each edge of the step pin comes at least step_pulse_ticks
 * after the previous edge (a step is high for step_pulse_ticks), so a
 * rising edge closer than 2*step_pulse_ticks to the previous one is pushed
 * back (with invert_step -1, step on both edges, 1*step_pulse_ticks); the schedule itself is not shifted.  A move whose first step falls
 * more than 1 ms before the end of the previous pulse shuts down with
 * "Stepper too far in past".  Only the rising edge is reported to the
 * board (with the dir level): the falling edge carries no information for
 * the simulation, and skipping its timer event halves the event count.
 *
 * stepper_stop_on_trigger registers with a trsync: when it triggers, the
 * queue is dropped and further queue_step are ignored until
 * reset_step_clock.
 */
#include <stddef.h>
#include "fw.h"
#include "board.h"

#define MF_DIR 0x01
#define SF_NEED_RESET 0x01

struct stepper {
    struct timer time;             /* first member: the timer is the stepper */
    struct stepper *next_obj;
    uint32_t interval, count;      /* current move: next interval, steps left */
    int32_t add;
    uint32_t next_step_time;       /* scheduled time of the next (or last) step */
    uint32_t min_next_edge;        /* earliest allowed next rising edge */
    uint32_t pulse2;               /* 2 * step_pulse_ticks */
    uint32_t step_pin, dir_pin;
    int32_t position;              /* as if every loaded step had happened */
    struct move_queue mq;
    uint32_t unsafe_queued;        /* queued moves move_is_safe() refuses */
    uint8_t oid, dir, next_dir, flags;
    uint8_t cur_safe;              /* the current move passed move_is_safe() */
};

/* A move whose every interval is at least one pulse period (and plainly
 * positive) never has a step pushed back, so with pulses of at most 1 ms
 * loading the move after it cannot find that move "too far in past"
 * (stepper_quiet). */
static int move_is_safe(struct mcu *m, struct stepper *s, struct move_node *n)
{
    int64_t first = n->a, last = first + (int64_t)n->c * ((int64_t)n->b - 1);
    int64_t lo = first < last ? first : last, hi = first < last ? last : first;
    return lo >= s->pulse2 && hi < ((int64_t)1 << 31)
        && s->pulse2 <= sched_ms_ticks(m, 1);
}

/* Make `n` the current move (freeing its node) and compute the time of
 * its first step; returns nonzero if that step had to be pushed back to
 * respect the pulse width (only if `constrained`: the previous edge is
 * recent). */
static int stepper_start_move(struct mcu *m, struct stepper *s,
                              struct move_node *n, int constrained)
{
    uint8_t dir = n->flags & MF_DIR;
    s->cur_safe = move_is_safe(m, s, n);
    if (dir != s->dir) {
        s->dir = dir;
        gpio_out_write(m, s->dir_pin, dir);
    }
    s->interval = n->a;
    s->count = n->b;
    s->add = n->c;
    s->position += dir ? (int32_t)n->b : -(int32_t)n->b;
    move_free(m, n);
    s->next_step_time += s->interval;
    if (constrained && timer_is_before(s->next_step_time, s->min_next_edge)) {
        s->time.waketime = s->min_next_edge;
        return 1;
    }
    s->time.waketime = s->next_step_time;
    return 0;
}

/* Load the next queued move at `now` (the time of the previous step);
 * returns SF_DONE when the queue is empty. */
static uint_fast8_t stepper_load_next(struct mcu *m, struct stepper *s,
                                      uint32_t now)
{
    s->min_next_edge = now + s->pulse2;
    if (!s->mq.first) {
        s->count = 0;
        return SF_DONE;
    }
    struct move_node *n = move_queue_pop(&s->mq);
    s->unsafe_queued -= !move_is_safe(m, s, n);
    if (stepper_start_move(m, s, n, 1)) {
        uint32_t pulse_end = now + s->pulse2 / 2;
        if ((int32_t)(pulse_end - s->next_step_time)
            > (int32_t)sched_ms_ticks(m, 1))
            shutdown(m, "Stepper too far in past");
    }
    return SF_RESCHEDULE;
}

/* The hot path: one rising edge per call. */
static uint_fast8_t stepper_event(struct mcu *m, struct timer *t)
{
    struct stepper *s = (struct stepper *)t;
    uint32_t now = timer_read_time(m);
    board_step_edge(m, s->step_pin, s->dir);
    if (--s->count) {
        uint32_t min_next = now + s->pulse2;
        s->interval += s->add;
        s->next_step_time += s->interval;
        t->waketime = timer_is_before(s->next_step_time, min_next)
            ? min_next : s->next_step_time;
        return SF_RESCHEDULE;
    }
    return stepper_load_next(m, s, now);
}

/* A stepper can only transmit (shut down with "Stepper too far in past")
 * when it loads its next move, at the last step of the current one: no
 * earlier than that step's scheduled time (pulse-width pushes only make
 * it later), and never while nothing is queued behind it.  Nor when every
 * move from the current one on is safe (move_is_safe) and the current
 * step is pushed back by at most a pulse period: a push never grows
 * through safe moves, so each load finds its first step at most half a
 * pulse (< 1 ms) before the previous pulse ends. */
static int64_t stepper_quiet(struct mcu *m, struct timer *t, uint32_t now)
{
    (void)m;
    struct stepper *s = (struct stepper *)t;
    if (!s->mq.first)
        return QUIET_FOREVER;
    int32_t pushed = (int32_t)(t->waketime - s->next_step_time);
    if (s->cur_safe && !s->unsafe_queued && pushed <= (int32_t)s->pulse2)
        return QUIET_FOREVER;
    int64_t rest = (int64_t)s->count - 1;
    int64_t last = (int64_t)(int32_t)(s->next_step_time - now)
        + rest * s->interval + (int64_t)s->add * rest * (rest + 1) / 2;
    int64_t wake = (int32_t)(t->waketime - now);
    return last > wake ? last : wake;
}

DECL_COMMAND(command_config_stepper,
             "config_stepper oid=%c step_pin=%c dir_pin=%c invert_step=%c"
             " step_pulse_ticks=%u");
void command_config_stepper(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]) || !board_pin_valid(m, args[2]))
        shutdown(m, "Not a valid pin");
    struct stepper *s = oid_alloc(m, args[0], OT_STEPPER, sizeof(*s));
    s->oid = args[0];
    s->step_pin = args[1];
    s->dir_pin = args[2];
    /* invert_step -1 (the host sends it when STEPPER_STEP_BOTH_EDGE is
     * set, as for TMC drivers): every edge is a step, so consecutive
     * steps need only one step_pulse_ticks apart */
    s->pulse2 = (int8_t)args[3] < 0 ? args[4] : 2 * args[4];
    s->time.func = stepper_event;
    s->time.quiet = stepper_quiet;
    gpio_out_write(m, s->step_pin, 0);
    gpio_out_write(m, s->dir_pin, 0);
    s->next_obj = m->steppers;
    m->steppers = s;
}

static struct stepper *stepper_oid_lookup(struct mcu *m, uint8_t oid)
{
    return oid_lookup(m, oid, OT_STEPPER);
}

DECL_COMMAND(command_queue_step,
             "queue_step oid=%c interval=%u count=%hu add=%hi");
void command_queue_step(struct mcu *m, uint32_t *args)
{
    struct stepper *s = stepper_oid_lookup(m, args[0]);
    uint16_t count = args[2];
    if (!count)
        shutdown(m, "Invalid count parameter");
    if (s->flags & SF_NEED_RESET)
        return;
    struct move_node *n = move_alloc(m);
    n->a = args[1];
    n->b = count;
    n->c = (int16_t)args[3];
    n->flags = s->next_dir;
    if (s->count) {
        move_queue_push(&s->mq, n);
        s->unsafe_queued += !move_is_safe(m, s, n);
        return;
    }
    /* Idle stepper: start the move now and schedule its first step (with
     * the "Timer too close" check).  The previous edge only constrains it
     * if it is still less than one pulse period ago (older values may
     * have wrapped around). */
    uint32_t ahead = s->min_next_edge - timer_read_time(m);
    stepper_start_move(m, s, n, ahead && ahead <= s->pulse2);
    sched_add_timer(m, &s->time);
}

DECL_COMMAND(command_set_next_step_dir, "set_next_step_dir oid=%c dir=%c");
void command_set_next_step_dir(struct mcu *m, uint32_t *args)
{
    struct stepper *s = stepper_oid_lookup(m, args[0]);
    s->next_dir = args[1] ? MF_DIR : 0;
}

DECL_COMMAND(command_reset_step_clock, "reset_step_clock oid=%c clock=%u");
void command_reset_step_clock(struct mcu *m, uint32_t *args)
{
    struct stepper *s = stepper_oid_lookup(m, args[0]);
    if (s->count)
        shutdown(m, "Can't reset time when stepper active");
    s->next_step_time = args[1];
    s->flags &= ~SF_NEED_RESET;
}

static int32_t stepper_position(struct stepper *s)
{
    int32_t pending = (int32_t)s->count;
    return s->position - (s->dir ? pending : -pending);
}

DECL_COMMAND_FLAGS(command_stepper_get_position, HF_IN_SHUTDOWN,
                   "stepper_get_position oid=%c");
void command_stepper_get_position(struct mcu *m, uint32_t *args)
{
    struct stepper *s = stepper_oid_lookup(m, args[0]);
    sendf(m, "stepper_position oid=%c pos=%i", s->oid, stepper_position(s));
}

/* Drop everything queued; the position keeps only the steps taken. */
static void stepper_stop(struct mcu *m, struct stepper *s)
{
    sched_del_timer(m, &s->time);
    s->position = stepper_position(s);
    s->count = 0;
    move_queue_clear(m, &s->mq);
    s->unsafe_queued = 0;
}

static void stepper_stop_on_trigger_cb(struct mcu *m, void *obj, uint8_t reason)
{
    struct stepper *s = obj;
    stepper_stop(m, s);
    s->flags |= SF_NEED_RESET;
}

DECL_COMMAND(command_stepper_stop_on_trigger,
             "stepper_stop_on_trigger oid=%c trsync_oid=%c");
void command_stepper_stop_on_trigger(struct mcu *m, uint32_t *args)
{
    struct stepper *s = stepper_oid_lookup(m, args[0]);
    struct trsync *ts = trsync_lookup(m, args[1]);
    trsync_add_signal(m, ts, stepper_stop_on_trigger_cb, s);
}

void stepper_shutdown_all(struct mcu *m)
{
    for (struct stepper *s = m->steppers; s; s = s->next_obj)
        stepper_stop(m, s);
}

/* Steps still to be executed (current move plus queued moves). */
uint64_t stepper_pending_steps(struct mcu *m)
{
    uint64_t total = 0;
    for (struct stepper *s = m->steppers; s; s = s->next_obj) {
        total += s->count;
        for (struct move_node *n = s->mq.first; n; n = n->next)
            total += n->b;
    }
    return total;
}
