/* When a host like Klipper's sends each message of a command stream: the
 * C port of klipsim.sim.delivery.DeliveryPlanner (with the 32-bit clock
 * rule of klipsim.sim.stream_clock.StreamClocks), kept step for step so
 * both give the same clocks (tests/test_execute_fast.py compares them on
 * random streams).  Read delivery.py's docstrings for the reasons; this
 * file only says where the C differs in form:
 * - Python's dicts keyed by oid become arrays indexed by a slot: oids
 *   0..255 are their own slot, any other key value gets one of
 *   SP_EXTRA_SLOTS further slots the first time it is stored;
 * - the move-slot heap is a plain binary min-heap (heapq's replace gives
 *   the same minimum at every step);
 * - max(queue_time.values()) is a running maximum (a queue's time never
 *   goes down: each new value is at least its old one).
 * Errors are returned as SP_ERR_* codes; Python raises its own exception
 * for them (KeyError: an unconfigured oid, DeliveryError).
 */
#include <stdlib.h>
#include <string.h>
#include "stream_exec.h"
#include "minheap.h"   // chelper/src (build_firmware.py's include path)

#define U32 0xFFFFFFFFLL
#define BEHIND (1LL << 31)              /* stream_clock.BEHIND */
#define AHEAD (1LL << 30)               /* stream_clock.AHEAD */
#define CLOCK_DIFF_MAX (3LL << 28)      /* delivery.CLOCK_DIFF_MAX */
#define MAX_AHEAD (3LL << 29)           /* delivery.MAX_AHEAD */

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* The slot of a key; -1 when absent and not created. */
static int slot_of(struct stream_planner *p, int64_t key, int create)
{
    if (key >= 0 && key < SP_DIRECT)
        return (int)key;
    for (int i = 0; i < p->n_extra; i++)
        if (p->extra_keys[i] == key)
            return SP_DIRECT + i;
    if (!create || p->n_extra >= SP_EXTRA_SLOTS)
        return -1;
    p->extra_keys[p->n_extra] = key;
    return SP_DIRECT + p->n_extra++;
}

void sp_init(struct stream_planner *p, int64_t move_count, int64_t lead,
             int64_t end_margin, int wide)
{
    memset(p, 0, sizeof(*p));
    p->move_count = move_count;
    p->lead = lead;
    p->end_margin = end_margin;
    p->wide = wide;
    p->deadline = SP_NONE;
}

void sp_free(struct stream_planner *p)
{
    free(p->slots);
    p->slots = NULL;
}

/* ---- StreamClocks ---- */

static int64_t clocks_extend(struct stream_planner *p, int64_t key, int64_t clock32,
                             int64_t floor, int narrow)
{
    int s = slot_of(p, key, 1);
    if (s < 0)
        return SP_ERR_SLOTS;
    int64_t previous = p->has_clk[s] ? p->clk_last[s] : 0, clock;
    if (p->wide && !narrow) {
        clock = clock32;
    } else {
        int64_t base = max64(max64(previous, floor), max64(p->clk_progress - BEHIND, 0));
        clock = base + ((clock32 - base) & U32);
    }
    if (clock > previous) {
        p->clk_last[s] = clock;
        p->has_clk[s] = 1;
    }
    if (p->clk_progress < clock && clock <= p->clk_progress + AHEAD)
        p->clk_progress = clock;
    return clock;
}

static int64_t extend(struct stream_planner *p, int64_t oid, int64_t clock32,
                      int64_t floor, int narrow)
{
    return clock32 == 0 ? 0 : clocks_extend(p, oid, clock32, floor, narrow);
}

/* ---- the move-slot heap ---- */

static int64_t start_motion(struct stream_planner *p)
{
    int64_t free_slots = p->move_count - p->n_updates;
    if (free_slots <= 0)
        return SP_ERR_QUEUE;
    p->slots = calloc(free_slots, sizeof(*p->slots));
    if (!p->slots)
        return SP_ERR_SLOTS;
    p->nslots = free_slots;
    return 0;
}

/* ---- resolve_far_step ---- */

static int64_t far_step(int64_t naive, int64_t reference)
{
    int64_t behind = reference - (1LL << 31) - naive;
    if (behind <= 0)
        return naive;
    return naive + (((behind + (1LL << 32) - 1) >> 32) << 32);
}

/* ---- queues ---- */

static int64_t qtime(struct stream_planner *p, int64_t key, int trsync)
{
    int s = slot_of(p, key, 0);
    if (s < 0)
        return 0;
    return trsync ? p->tq_time[s] : p->q_time[s];
}

static int64_t set_qtime(struct stream_planner *p, int64_t key, int trsync, int64_t v)
{
    int s = slot_of(p, key, 1);
    if (s < 0)
        return SP_ERR_SLOTS;
    if (trsync)
        p->tq_time[s] = v;
    else
        p->q_time[s] = v;
    if (v > p->q_max)
        p->q_max = v;
    return 0;
}

int64_t sp_plan_queue_step(struct stream_planner *p, int64_t oid, int64_t interval,
                           int64_t count, int64_t add)
{
    if (!p->slots) {
        int64_t err = start_motion(p);
        if (err)
            return err;
    }
    int s = slot_of(p, oid, 0);
    if (s < 0 || !p->has_step[s])
        return SP_ERR_KEY;
    p->planned++;
    int64_t start = p->last_step[s], first = start + interval, req = start;
    if (count == 1) {
        first = far_step(first, p->clk_progress);
        if (first - start >= CLOCK_DIFF_MAX)
            req = first;
        p->last_step[s] = first;
    } else {
        p->last_step[s] = start + count * interval + add * (count * (count - 1) / 2);
    }
    if (p->last_step[s] > p->clk_progress)
        p->clk_progress = p->last_step[s];
    int64_t ready = req - p->lead;
    if (req - MAX_AHEAD > ready)
        ready = req - MAX_AHEAD;
    int64_t base = p->q_time[s];
    if (base < p->barrier)
        base = p->barrier;
    if (ready < base)
        ready = base;
    if (ready < p->slots[0])
        ready = p->slots[0];
    p->q_time[s] = ready;
    if (ready > p->q_max)
        p->q_max = ready;
    minheap_replace(p->slots, p->nslots, start > ready ? start : ready);
    p->deadline = first;
    if (req == start && ready > p->progress)
        p->progress = ready;
    return ready;
}

/* _queue_digital_out: *clock is the message's clock, rewritten when 0. */
static int64_t digital_out(struct stream_planner *p, int64_t oid, int64_t *clock,
                           int64_t *min_clock)
{
    int s = slot_of(p, oid, 0);
    int64_t c;
    if (*clock == 0) {
        if (s < 0 || !p->has_update[s])
            return SP_ERR_KEY;
        c = max64(p->progress, p->last_update[s]) + p->lead;
        *clock = c & U32;
        p->zero_clock_fixes++;
    } else {
        c = extend(p, oid, *clock, 0, 0);
        s = slot_of(p, oid, 0);
        if (SP_IS_ERR(c))
            return c;
    }
    if (s < 0 || !p->has_update[s])
        return SP_ERR_KEY;
    *min_clock = p->last_update[s];
    p->last_update[s] = c;
    return c;
}

/* The message-specific part of plan(): req and min_clock, state. */
static int64_t plan_kind(struct stream_planner *p, const struct sp_message *m,
                         int64_t *req, int64_t *min_clock, int64_t *clock_io)
{
    int s;
    switch (m->kind) {
    case SP_STEP_DIR:
        s = slot_of(p, m->oid, 0);
        if (s < 0 || !p->has_step[s])
            return SP_ERR_KEY;
        *req = p->last_step[s];
        break;
    case SP_DIGITAL_OUT: {
        int64_t r = digital_out(p, m->oid, clock_io, min_clock);
        if (SP_IS_ERR(r))
            return r;
        *req = p->deadline = r;
        break;
    }
    case SP_RESET_STEP:
        s = slot_of(p, m->oid, 0);
        if (s < 0 || !p->has_step[s])
            return SP_ERR_KEY;
        *req = extend(p, m->oid, m->clock, p->last_step[s], 0);
        if (SP_IS_ERR(*req))
            return *req;
        p->last_step[s] = *req;
        if (*req > p->clk_progress)
            p->clk_progress = *req;
        break;
    case SP_CLOCKED:
        *req = extend(p, m->oid, m->clock, 0, 0);
        if (SP_IS_ERR(*req))
            return *req;
        if (*req && m->flag)
            p->deadline = *req;
        break;
    case SP_TRSYNC_START:
        *req = p->deadline = extend(p, m->oid, m->clock, 0, 1);
        if (SP_IS_ERR(*req))
            return *req;
        break;
    case SP_CONFIG_STEPPER:
        s = slot_of(p, m->oid, 1);
        if (s < 0)
            return SP_ERR_SLOTS;
        p->last_step[s] = 0;
        p->has_step[s] = 1;
        break;
    case SP_CONFIG_OUTPUT:
        s = slot_of(p, m->oid, 1);
        if (s < 0)
            return SP_ERR_SLOTS;
        p->last_update[s] = 0;
        p->n_updates += !p->has_update[s];
        p->has_update[s] = 1;
        p->max_duration = max64(p->max_duration, m->flag);
        break;
    }
    return 0;
}

int64_t sp_plan(struct stream_planner *p, const struct sp_message *m, int64_t *clock_io)
{
    p->planned++;
    p->deadline = SP_NONE;
    int64_t req = 0, min_clock = 0, base;
    int64_t err = plan_kind(p, m, &req, &min_clock, clock_io);
    if (err)
        return err;
    switch (m->queues) {
    case SP_Q_BARRIER:
        base = max64(p->barrier, p->q_max);
        break;
    case SP_Q_OID:
        base = max64(p->barrier, qtime(p, m->oid, 0));
        break;
    case SP_Q_OID_TRSYNC:
        base = max64(p->barrier, max64(qtime(p, m->oid, 0), qtime(p, m->trsync_oid, 1)));
        break;
    default:     /* SP_Q_TRSYNC */
        base = max64(p->barrier, qtime(p, m->oid, 1));
        break;
    }
    int64_t ready = max64(max64(base, min_clock), max64(req - p->lead, req - MAX_AHEAD));
    switch (m->queues) {
    case SP_Q_BARRIER:
        p->barrier = ready;
        break;
    case SP_Q_OID_TRSYNC:
        if (set_qtime(p, m->trsync_oid, 1, ready))
            return SP_ERR_SLOTS;
        /* fall through */
    case SP_Q_OID:
        if (set_qtime(p, m->oid, 0, ready))
            return SP_ERR_SLOTS;
        break;
    default:
        if (set_qtime(p, m->oid, 1, ready))
            return SP_ERR_SLOTS;
        break;
    }
    p->progress = max64(p->progress, ready);
    return ready;
}

int64_t sp_end_clock(struct stream_planner *p)
{
    int64_t end = p->progress;
    for (int s = 0; s < SP_SLOTS; s++) {
        if (p->has_step[s])
            end = max64(end, p->last_step[s]);
        if (p->has_update[s])
            end = max64(end, p->last_update[s]);
    }
    return end + p->max_duration + p->end_margin;
}

/* pulse_check.far_step_shifts over the queue_steps of a stream in stream
 * order: slot[k] numbers the stepper, start[k] is its naive previous-step
 * clock; shift[k] gets the whole 2^32 wraps to add to it. */
void sp_far_step_shifts(const int64_t *slot, const int64_t *start, const int64_t *interval,
                        const int64_t *count, const int64_t *add, int64_t n,
                        int64_t *offset, int64_t *shift)
{
    int64_t progress = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t *off = &offset[slot[k]];
        if (count[k] == 1) {
            int64_t naive = start[k] + *off + interval[k];
            *off += far_step(naive, progress) - naive;
        }
        shift[k] = *off;
        int64_t end = start[k] + *off + count[k] * interval[k]
            + add[k] * (count[k] * (count[k] - 1) / 2);
        if (end > progress)
            progress = end;
    }
}
