/* Trigger synchronisation (trsync) for homing.
 *
 * Contract (KLIPPER-FACTS 2.8): trsync_start arms a trsync (can_trigger=1,
 * no registered signals) and reports its state every report_ticks from
 * report_clock on ("trsync_state", clock = the report time).
 * trsync_set_timeout sets the clock at which it triggers by itself with
 * the expire_reason (the host pushes it later on every report while all
 * is well).  Triggering (endstop, timeout or trsync_trigger) happens once:
 * every registered signal (e.g. a stepper's stop) is called, reporting
 * stops after one final report with can_trigger=0.  trsync_trigger always
 * answers with a trsync_state (can_trigger=0, the trigger reason, clock 0).
 */
#include "fw.h"
#include "board.h"

#define TRSYNC_MAX_SIGNALS 8

struct trsync_signal {
    trsync_callback func;
    void *obj;
};

struct trsync {
    struct timer report_timer, expire_timer;
    struct trsync *next_obj;
    uint32_t report_ticks, report_clock;
    struct trsync_signal signals[TRSYNC_MAX_SIGNALS];
    uint8_t oid, can_trigger, trigger_reason, expire_reason;
    uint8_t signal_count, report_pending;
};

struct trsync *trsync_lookup(struct mcu *m, uint8_t oid)
{
    return oid_lookup(m, oid, OT_TRSYNC);
}

static void trsync_request_report(struct mcu *m, struct trsync *ts,
                                  uint32_t clock)
{
    ts->report_clock = clock;
    ts->report_pending = 1;
    m->trsync_report_pending = 1;
    sched_wake_tasks(m);
}

void trsync_add_signal(struct mcu *m, struct trsync *ts, trsync_callback cb,
                       void *obj)
{
    if (ts->signal_count >= TRSYNC_MAX_SIGNALS)
        shutdown(m, "Too many trsync signals");
    ts->signals[ts->signal_count].func = cb;
    ts->signals[ts->signal_count].obj = obj;
    ts->signal_count++;
}

void trsync_do_trigger(struct mcu *m, struct trsync *ts, uint8_t reason)
{
    if (!ts->can_trigger)
        return;
    ts->can_trigger = 0;
    ts->trigger_reason = reason;
    sched_del_timer(m, &ts->report_timer);
    sched_del_timer(m, &ts->expire_timer);
    for (int i = 0; i < ts->signal_count; i++)
        ts->signals[i].func(m, ts->signals[i].obj, reason);
    ts->signal_count = 0;
    trsync_request_report(m, ts, timer_read_time(m));
}

static uint_fast8_t trsync_report_event(struct mcu *m, struct timer *t)
{
    struct trsync *ts = (struct trsync *)((char *)t
        - offsetof(struct trsync, report_timer));
    trsync_request_report(m, ts, t->waketime);
    t->waketime += ts->report_ticks;
    return SF_RESCHEDULE;
}

static uint_fast8_t trsync_expire_event(struct mcu *m, struct timer *t)
{
    struct trsync *ts = (struct trsync *)((char *)t
        - offsetof(struct trsync, expire_timer));
    trsync_do_trigger(m, ts, ts->expire_reason);
    return SF_DONE;
}

DECL_COMMAND(command_config_trsync, "config_trsync oid=%c");
void command_config_trsync(struct mcu *m, uint32_t *args)
{
    struct trsync *ts = oid_alloc(m, args[0], OT_TRSYNC, sizeof(*ts));
    ts->oid = args[0];
    ts->report_timer.func = trsync_report_event;
    ts->expire_timer.func = trsync_expire_event;
    ts->next_obj = m->trsyncs;
    m->trsyncs = ts;
}

DECL_COMMAND(command_trsync_start,
             "trsync_start oid=%c report_clock=%u report_ticks=%u"
             " expire_reason=%c");
void command_trsync_start(struct mcu *m, uint32_t *args)
{
    struct trsync *ts = trsync_lookup(m, args[0]);
    sched_del_timer(m, &ts->report_timer);
    sched_del_timer(m, &ts->expire_timer);
    ts->can_trigger = 1;
    ts->trigger_reason = 0;
    ts->signal_count = 0;
    ts->report_ticks = args[2];
    ts->expire_reason = args[3];
    if (ts->report_ticks) {
        ts->report_timer.waketime = args[1];
        sched_add_timer(m, &ts->report_timer);
    }
}

DECL_COMMAND(command_trsync_set_timeout, "trsync_set_timeout oid=%c clock=%u");
void command_trsync_set_timeout(struct mcu *m, uint32_t *args)
{
    struct trsync *ts = trsync_lookup(m, args[0]);
    sched_del_timer(m, &ts->expire_timer);
    if (!ts->can_trigger)
        return;
    ts->expire_timer.waketime = args[1];
    sched_add_timer(m, &ts->expire_timer);
}

DECL_COMMAND_FLAGS(command_trsync_trigger, HF_IN_SHUTDOWN,
                   "trsync_trigger oid=%c reason=%c");
void command_trsync_trigger(struct mcu *m, uint32_t *args)
{
    struct trsync *ts = trsync_lookup(m, args[0]);
    trsync_do_trigger(m, ts, args[1]);
    /* The host sends this as a query (Klipper's mcu.py MCU_trsync.stop):
     * the reply is one trsync_state, sent at once, with can_trigger=0,
     * the reason it triggered with (the first one, if it had already
     * triggered) and clock 0, instead of the periodic-style report. */
    ts->report_pending = 0;
    sendf(m, "trsync_state oid=%c can_trigger=%c trigger_reason=%c"
          " clock=%u", ts->oid, 0, ts->trigger_reason, 0);
}

void trsync_task(struct mcu *m)
{
    if (!m->trsync_report_pending)
        return;
    m->trsync_report_pending = 0;
    for (struct trsync *ts = m->trsyncs; ts; ts = ts->next_obj) {
        if (!ts->report_pending)
            continue;
        ts->report_pending = 0;
        sendf(m, "trsync_state oid=%c can_trigger=%c trigger_reason=%c"
              " clock=%u", ts->oid, ts->can_trigger, ts->trigger_reason,
              ts->report_clock);
    }
}

void trsync_shutdown_all(struct mcu *m)
{
    for (struct trsync *ts = m->trsyncs; ts; ts = ts->next_obj) {
        ts->can_trigger = 0;
        ts->signal_count = 0;
        ts->report_pending = 0;
    }
    m->trsync_report_pending = 0;
}
