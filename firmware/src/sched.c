/* Timer scheduler, task loop and shutdown handling.
 *
 * Contract: timers live on one list sorted by waketime (32-bit clock,
 * compared with wrap-around).  Adding a timer that would become the head
 * of the list while its waketime is already in the past shuts the MCU
 * down with "Timer too close" (Klipper's rule, KLIPPER-FACTS 3.1); a timer
 * that is not earlier than the head is inserted without a check.  A
 * periodic timer re-arms every 100 ms, so the head is never far away and
 * any host-scheduled event in the past is caught.  The board layer pops
 * the head with sched_dispatch_head() when the virtual clock reaches it;
 * tasks run right after, in zero simulated time.
 */
#include "fw.h"
#include "board.h"

#define PERIODIC_MS 100   /* Klipper re-arms its periodic timer every 100 ms */
/* Klipper's Linux-process MCU (src/linux) dispatches due timers in a row;
 * after 20 such repeats, a next timer more than 100 ms in the past shuts
 * it down (KLIPPER-FACTS 3.1). */
#define LATE_REPEATS 20
#define LATE_PAST_MS 100

uint32_t sched_ms_ticks(struct mcu *m, uint32_t ms)
{
    return (uint32_t)((uint64_t)m->profile->clock_freq * ms / 1000);
}

/* Insert in waketime order; equal waketimes keep insertion order. */
void sched_insert_timer(struct mcu *m, struct timer *t)
{
    struct timer **pos = &m->timer_list;
    uint32_t wake = t->waketime;
    while (*pos && !timer_is_before(wake, (*pos)->waketime))
        pos = &(*pos)->next;
    t->next = *pos;
    *pos = t;
}

void sched_add_timer(struct mcu *m, struct timer *t)
{
    struct timer *head = m->timer_list;
    if (!head || timer_is_before(t->waketime, head->waketime)) {
        if (timer_is_before(t->waketime, timer_read_time(m)))
            try_shutdown(m, "Timer too close");
        t->next = head;
        m->timer_list = t;
        return;
    }
    sched_insert_timer(m, t);
}

void sched_del_timer(struct mcu *m, struct timer *t)
{
    struct timer **pos = &m->timer_list;
    while (*pos) {
        if (*pos == t) {
            *pos = t->next;
            t->next = NULL;
            return;
        }
        pos = &(*pos)->next;
    }
}

void sched_dispatch_head(struct mcu *m)
{
    struct timer *t = m->timer_list;
    m->timer_list = t->next;
    if (t->func(m, t) == SF_RESCHEDULE)
        sched_insert_timer(m, t);
}

/* One more timer of a late run of due timers (a Linux-process MCU that
 * got the CPU late): every LATE_REPEATS in a row the head timer must not
 * be more than LATE_PAST_MS in the past. */
void sched_check_late_repeat(struct mcu *m, uint32_t repeats)
{
    if (!repeats || repeats % LATE_REPEATS)
        return;
    uint32_t behind = timer_read_time(m) - m->timer_list->waketime;
    if ((int32_t)behind > (int32_t)sched_ms_ticks(m, LATE_PAST_MS))
        shutdown(m, "Rescheduled timer in the past");
}

void sched_wake_tasks(struct mcu *m)
{
    m->tasks_pending = 1;
}

static uint_fast8_t periodic_event(struct mcu *m, struct timer *t)
{
    t->waketime += sched_ms_ticks(m, PERIODIC_MS);
    sched_wake_tasks(m);
    return SF_RESCHEDULE;
}

/* The periodic timer only runs the tasks: what they send is bounded by
 * the timers that asked for it (analog, trsync) and by stats_quiet_ticks. */
static int64_t periodic_quiet(struct mcu *m, struct timer *t, uint32_t now)
{
    (void)m, (void)t, (void)now;
    return QUIET_FOREVER;
}

int64_t sched_periodic_at_or_after(struct mcu *m, uint32_t now, int64_t ticks)
{
    int64_t period = sched_ms_ticks(m, PERIODIC_MS);
    int64_t first = (int32_t)(m->periodic_timer.waketime - now);
    if (first >= ticks)
        return first;
    return first + (ticks - first + period - 1) / period * period;
}

/* The earliest clock at which the MCU could transmit anything (a report
 * or a shutdown) if no command arrives: the smallest bound of the timers
 * (their `quiet` hook, else their waketime) and of the stats report.  A
 * lower bound: running to any clock before it sends nothing. */
uint64_t sched_quiet_until(struct mcu *m, uint64_t now64)
{
    if (m->tasks_pending)
        return now64;
    uint32_t now = (uint32_t)now64;
    int64_t best = stats_quiet_ticks(m, now);
    for (struct timer *t = m->timer_list; t; t = t->next) {
        int64_t q = t->quiet ? t->quiet(m, t, now)
                             : (int64_t)(int32_t)(t->waketime - now);
        if (q < best)
            best = q < 0 ? 0 : q;
    }
    return best == QUIET_FOREVER ? UINT64_MAX : now64 + (uint64_t)best;
}

void sched_timer_reset(struct mcu *m)
{
    m->timer_list = NULL;
    m->periodic_timer.func = periodic_event;
    m->periodic_timer.quiet = periodic_quiet;
    m->periodic_timer.waketime = timer_read_time(m)
        + sched_ms_ticks(m, PERIODIC_MS);
    sched_insert_timer(m, &m->periodic_timer);
}

void sched_init(struct mcu *m)
{
    m->shutdown_status = 0;
    sched_timer_reset(m);
}

void sched_run_tasks(struct mcu *m)
{
    m->tasks_pending = 0;
    m->stats_count++;
    trsync_task(m);
    analog_task(m);
    stats_task(m);
}

int sched_is_shutdown(struct mcu *m)
{
    return m->shutdown_status != 0;
}

void sched_shutdown(struct mcu *m, uint16_t reason)
{
    if (!m->shutdown_status) {
        m->shutdown_reason = reason;
        m->shutdown_clock = timer_read_time(m);
    }
    m->shutdown_status = 2;
    longjmp(*m->shutdown_jmp, 1);
}

void sched_try_shutdown(struct mcu *m, uint16_t reason)
{
    if (m->shutdown_status != 2)
        sched_shutdown(m, reason);
}

/* Called by the board layer after a shutdown longjmp: stop every object,
 * put outputs in their default state, report the reason. */
void sched_run_shutdown(struct mcu *m)
{
    m->shutdown_status = 2;
    sched_timer_reset(m);
    stepper_shutdown_all(m);
    digital_out_shutdown_all(m);
    trsync_shutdown_all(m);
    endstop_shutdown_all(m);
    analog_shutdown_all(m);
    pwm_shutdown_all(m);
    m->shutdown_status = 1;
    sendf(m, "shutdown clock=%u static_string_id=%hu", m->shutdown_clock,
          m->shutdown_reason);
}
