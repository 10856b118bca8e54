/* The MCU node's common block arrival as a C event (see fw_node.h), the
 * MCU->host wire and the margins it records.  A port of the usual path of
 * sim/mcus/firmware_node.py (McuNode._arrive, _accept, _note_block's
 * queue_steps-only case, _send_out, _plan_wake's "same bound" case) and
 * of sim/link/wire.py's rule; tests/test_fw_node_port.py compares it
 * with the Python path. */
#include <stdlib.h>
#include <string.h>
#include "fwsim.h"
#include "fw_node.h"

#define USB_FRAME_NS 1000000        /* sim/link/wire.py USB_FRAME_NS */
#define SEQ_MASK 0x0f               /* msgblock MESSAGE_SEQ_MASK */
#define RING_MASK (FW_NODE_RING - 1)
#define NO_MARGIN INT64_MIN         /* "None": no margin is that small */
#define NS2 ((__int128)1000000000000000000LL)
#define MOTION 0                    /* CLASSES[0] */

typedef int32_t (*schedule_fn)(void *vs, int64_t at, int32_t prio, void *fn, void *ctx,
                               int64_t arg);
typedef int32_t (*sink_fn)(void *ctx, const uint8_t *data, size_t len);

static int handled_stop(struct fw_node *n, int state, int64_t now_ns);

/* ---- the wire ---- */

int64_t fw_wire_send(struct fw_wire *w, int64_t now, int64_t nbytes)
{
    int64_t start = now > w->idle_ns ? now : w->idle_ns;
    if (w->usb)
        start = (start + USB_FRAME_NS - 1) / USB_FRAME_NS * USB_FRAME_NS;
    w->idle_ns = start + nbytes * w->byte_ns;
    return w->idle_ns;
}

/* ---- margins ---- */

struct fw_margins {
    int64_t min[FW_CLASSES], count[FW_CLASSES];
    int64_t at_min[FW_CLASSES], at_ns[FW_CLASSES];   /* minimum_at */
    int64_t *seconds[FW_CLASSES];   /* per second of arrival; NO_MARGIN: none */
    size_t nseconds[FW_CLASSES], capseconds[FW_CLASSES];
    int32_t order[FW_CLASSES], norder;
    int64_t *series;                /* (ns, worst) pairs */
    size_t nseries, capseries;
};

struct fw_margins *fw_margins_new(void)
{
    struct fw_margins *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    for (int k = 0; k < FW_CLASSES; k++)
        m->min[k] = m->at_min[k] = NO_MARGIN;
    return m;
}

void fw_margins_free(struct fw_margins *m)
{
    if (!m)
        return;
    for (int k = 0; k < FW_CLASSES; k++)
        free(m->seconds[k]);
    free(m->series);
    free(m);
}

void fw_margins_add(struct fw_margins *m, int32_t klass, int64_t margin, int64_t count)
{
    if (m->min[klass] == NO_MARGIN || margin < m->min[klass])
        m->min[klass] = margin;
    m->count[klass] += count;
}

void fw_margins_note(struct fw_margins *m, int64_t now_ns, int32_t klass, int64_t margin)
{
    if (m->at_min[klass] == NO_MARGIN)
        m->order[m->norder++] = klass;      /* first note of this class */
    size_t second = (size_t)(now_ns / 1000000000);
    if (second >= m->nseconds[klass]) {
        size_t need = second + 1;
        m->seconds[klass] = fw_grow(m->seconds[klass], &m->capseconds[klass], need,
                                    sizeof(int64_t));
        for (size_t i = m->nseconds[klass]; i < need; i++)
            m->seconds[klass][i] = NO_MARGIN;
        m->nseconds[klass] = need;
    }
    int64_t *old = &m->seconds[klass][second];
    if (*old == NO_MARGIN || margin < *old)
        *old = margin;
    if (m->at_min[klass] == NO_MARGIN || margin < m->at_min[klass]) {
        m->at_min[klass] = margin;
        m->at_ns[klass] = now_ns;
    }
}

void fw_margins_add_series(struct fw_margins *m, int64_t now_ns, int64_t worst)
{
    m->series = fw_grow(m->series, &m->capseries, 2 * m->nseries + 2, sizeof(int64_t));
    m->series[2 * m->nseries] = now_ns;
    m->series[2 * m->nseries + 1] = worst;
    m->nseries++;
}

int32_t fw_margins_minimum(struct fw_margins *m, int32_t klass, int64_t *out)
{
    *out = m->min[klass];
    return m->min[klass] != NO_MARGIN;
}

int64_t fw_margins_count(struct fw_margins *m, int32_t klass)
{
    return m->count[klass];
}

size_t fw_margins_series_len(struct fw_margins *m)
{
    return m->nseries;
}

void fw_margins_series_read(struct fw_margins *m, int64_t *out)
{
    memcpy(out, m->series, 2 * m->nseries * sizeof(int64_t));
}

int32_t fw_margins_order(struct fw_margins *m, int32_t *out)
{
    memcpy(out, m->order, m->norder * sizeof(int32_t));
    return m->norder;
}

size_t fw_margins_span(struct fw_margins *m, int32_t klass)
{
    return m->nseconds[klass];
}

size_t fw_margins_seconds(struct fw_margins *m, int32_t klass, int64_t *out)
{
    size_t n = 0;
    for (size_t s = 0; s < m->nseconds[klass]; s++) {
        if (m->seconds[klass][s] == NO_MARGIN)
            continue;
        out[2 * n] = (int64_t)s;
        out[2 * n + 1] = m->seconds[klass][s];
        n++;
    }
    return n;
}

int32_t fw_margins_minimum_at(struct fw_margins *m, int32_t klass, int64_t *out)
{
    out[0] = m->at_min[klass];
    out[1] = m->at_ns[klass];
    return m->at_min[klass] != NO_MARGIN;
}

/* ---- the node ---- */

/* An output chunk on the MCU->host wire (a free one: next free index). */
struct fw_out {
    uint8_t data[FW_NODE_OUT_MAX];
    int32_t len, next;
};

struct fw_node *fw_node_new(void)
{
    struct fw_node *n = calloc(1, sizeof(*n));
    if (!n)
        abort();
    n->free_out = -1;
    return n;
}

void fw_node_free(struct fw_node *n)
{
    if (!n)
        return;
    free(n->outs);
    free(n);
}

static int32_t schedule(struct fw_node *n, int64_t at, void *fn, int64_t arg)
{
    return ((schedule_fn)n->schedule)(n->vs, at, 0, fn, n, arg);
}

int64_t fw_node_deliver(struct fw_node *n, int64_t at_ns, const uint8_t *data, size_t len,
                        int32_t seq, int64_t count, int64_t low, int64_t high)
{
    return fw_node_deliver_gen(n, at_ns, data, len, seq, 1, count, low, high, NULL, 0);
}

int64_t fw_node_deliver_gen(struct fw_node *n, int64_t at_ns, const uint8_t *data,
                            size_t len, int32_t seq, int32_t has_motion, int64_t count,
                            int64_t low, int64_t high, const struct fw_gen *gen,
                            int32_t ngen)
{
    if (n->py_only || n->pending >= FW_NODE_RING || len > sizeof(n->ring[0].data)
            || ngen > FW_GEN_MAX)
        return -1;
    int64_t serial = n->serial++;
    struct fw_arrival *a = &n->ring[serial & RING_MASK];
    memcpy(a->data, data, len);
    a->len = (int32_t)len;
    a->seq = seq;
    a->arrived = 0;
    a->count = count;
    a->low = low;
    a->high = high;
    a->has_motion = has_motion;
    a->ngen = ngen;
    if (ngen)
        memcpy(a->gen, gen, (size_t)ngen * sizeof(*gen));
    n->pending++;
    schedule(n, at_ns, (void *)fw_node_arrive_event, serial);
    return serial;
}

/* Would fw_node_deliver take `blocks` more blocks now (the serial
 * queue's native program asks before it commits them)? */
int32_t fw_node_can_take(struct fw_node *n, int32_t blocks)
{
    return !n->py_only && n->pending + blocks <= FW_NODE_RING;
}

/* McuClock.clock and time_ns (Python's floor division). */
static int64_t node_clock(const struct fw_node *n, int64_t t_ns)
{
    __int128 p = (__int128)t_ns * n->clk_num;
    __int128 q = p / NS2;
    if (p % NS2 != 0 && p < 0)
        q--;
    return n->clk_offset + (int64_t)q;
}

static int64_t node_time_ns(const struct fw_node *n, int64_t clock)
{
    __int128 ticks = (__int128)clock - n->clk_offset;
    if (ticks <= 0)
        return 0;
    return (int64_t)((ticks * NS2 + n->clk_num - 1) / n->clk_num);
}

static int32_t output_event(void *node, int64_t now_ns, int64_t index)
{
    struct fw_node *n = node;
    (void)now_ns;
    struct fw_out *o = &n->outs[index];
    uint8_t data[FW_NODE_OUT_MAX];
    int32_t len = o->len;
    memcpy(data, o->data, len);      /* (the sink may send more: outs may move) */
    o->next = n->free_out;
    n->free_out = (int32_t)index;
    return ((sink_fn)n->sink)(n->sink_ctx, data, len);
}

/* McuNode._send_out without faults: the chunk written at MCU clock
 * `clock` reaches the host when its last byte has crossed the wire. */
static void send_out(struct fw_node *n, const uint8_t *data, size_t len, uint64_t clock,
                     int64_t now_ns)
{
    int64_t written = node_time_ns(n, (int64_t)clock);
    int64_t arrival = fw_wire_send(n->wire, written > 0 ? written : 0, (int64_t)len);
    if (arrival < now_ns)
        arrival = now_ns;
    int32_t index = n->free_out;
    if (index >= 0) {
        n->free_out = n->outs[index].next;
    } else {
        size_t cap = (size_t)n->nouts;
        n->outs = fw_grow(n->outs, &cap, (size_t)n->nouts + 1, sizeof(struct fw_out));
        index = n->nouts++;
        for (int32_t i = n->nouts; i < (int32_t)cap; i++) {   /* the rest to the free list */
            n->outs[i].next = n->free_out;
            n->free_out = i;
        }
        n->nouts = (int32_t)cap;
    }
    memcpy(n->outs[index].data, data, len);
    n->outs[index].len = (int32_t)len;
    schedule(n, arrival, (void *)output_event, index);
}

void fw_node_send_out(struct fw_node *n, const uint8_t *data, size_t len, uint64_t clock,
                      int64_t now_ns)
{
    send_out(n, data, len, clock, now_ns);
}

/* The sequence the firmware's last ack names (its output: whole blocks,
 * each led by its length). */
static int32_t acked_seq(const uint8_t *out, size_t len)
{
    size_t pos = 0, last = 0;
    while (pos < len) {
        last = pos;
        pos += out[pos] ? out[pos] : len;     /* (a zero length: stop) */
    }
    return out[last + 1] & SEQ_MASK;
}

/* What only Python does, or nothing (0): fw_arrive's results in n->info. */
static int32_t needs_python(struct fw_node *n, struct fw_arrival *a, int32_t *noted)
{
    uint64_t len = n->info[FW_ARRIVE_TX], now = n->info[FW_ARRIVE_NOW];
    if (len > FW_NODE_OUT_MAX || n->info[FW_ARRIVE_RX_LOST] != n->rx_lost
            || n->info[FW_ARRIVE_QUIET] == UINT64_MAX)
        return 1;
    *noted = 0;
    if (!len)
        return 0;
    int32_t count = (acked_seq(n->out, len) - n->expected_seq) & SEQ_MASK;
    *noted = !a->arrived && ((a->seq - n->expected_seq) & SEQ_MASK) < count;
    if (!*noted || n->first_late)
        return 0;
    /* (a late message, the first one: Python finds which) */
    if (a->has_motion && a->low < (int64_t)now)
        return 1;
    for (int32_t i = 0; i < a->ngen; i++)
        if (a->gen[i].sched < (int64_t)now)
            return 1;
    return 0;
}

/* _note_block without a first late message: the queue_steps' margins
 * (Block.motion), then each other scheduled message's; the block's
 * smallest margin per class in the order the classes came. */
static void note_block(struct fw_node *n, struct fw_arrival *a, int64_t serial,
                       uint64_t arrival, int64_t now_ns)
{
    a->arrived = 1;
    n->noted[n->noted_n++ & RING_MASK] = serial;
    int64_t worst = NO_MARGIN, worst_by[FW_CLASSES];
    int32_t order[FW_CLASSES], norder = 0;
    for (int k = 0; k < FW_CLASSES; k++)
        worst_by[k] = NO_MARGIN;
    int64_t last_sched = n->last_sched_clock;
    if (a->has_motion) {
        worst = worst_by[MOTION] = a->low - (int64_t)arrival;
        order[norder++] = MOTION;
        fw_margins_add(n->margins, MOTION, worst, a->count);
        if (a->high > last_sched)
            last_sched = a->high;
    }
    for (int32_t i = 0; i < a->ngen; i++) {
        const struct fw_gen *g = &a->gen[i];
        if (g->oid >= 0 && n->watched[g->oid]) {          /* _note_watchdog */
            n->last_update[g->oid] = g->sched;
            n->has_update[g->oid] = 1;
        }
        int64_t margin = g->sched - (int64_t)arrival;
        if (worst_by[g->klass] == NO_MARGIN)
            order[norder++] = g->klass;
        if (worst_by[g->klass] == NO_MARGIN || margin < worst_by[g->klass])
            worst_by[g->klass] = margin;
        fw_margins_add(n->margins, g->klass, margin, 1);
        if (worst == NO_MARGIN || margin < worst)
            worst = margin;
        if (g->extends && g->sched > last_sched)
            last_sched = g->sched;
    }
    n->last_sched_clock = last_sched;
    if (worst == NO_MARGIN)
        return;
    fw_margins_add_series(n->margins, now_ns, worst);
    for (int32_t i = 0; i < norder; i++)
        fw_margins_note(n->margins, now_ns, order[i], worst_by[order[i]]);
}

int32_t fw_node_arrive_event(void *node, int64_t now_ns, int64_t serial)
{
    struct fw_node *n = node;
    struct fw_arrival *a = &n->ring[serial & RING_MASK];
    n->pending--;
    if (n->py_only) {
        n->slow++;
        return fw_node_py(n->py, FW_PY_ARRIVE, serial, 0);
    }
    int64_t target = node_clock(n, now_ns);
    int state;
    do      /* (a stop on the way C can handle: on to the arrival) */
        state = fw_arrive(n->fw, (uint64_t)target, n->stops, a->data, (size_t)a->len,
                          n->out, FW_NODE_OUT_MAX, n->info);
    while (state != FW_RUN_REACHED && handled_stop(n, state, now_ns));
    int32_t noted;
    n->planted = 0;
    if (state == FW_RUN_REACHED && n->thermal) {
        /* the plants' update point (first, as in _arrive_rest) */
        n->planted = 1;
        fw_node_run_end(n, (int64_t)n->info[FW_ARRIVE_NOW]);
    }
    if (state != FW_RUN_REACHED || needs_python(n, a, &noted)) {
        n->slow++;
        return fw_node_py(n->py, FW_PY_REST, serial, state);
    }
    n->fast++;
    size_t len = (size_t)n->info[FW_ARRIVE_TX];
    uint64_t now = n->info[FW_ARRIVE_NOW], quiet = n->info[FW_ARRIVE_QUIET];
    if (len) {
        n->expected_seq = acked_seq(n->out, len);
        if (noted)
            note_block(n, a, serial, now, now_ns);
        send_out(n, n->out, len, now, now_ns);
    }
    if (n->has_planned && n->wake_set && quiet == n->planned_quiet)
        return 0;          /* same bound: the pending wake is still the first */
    return fw_node_py(n->py, FW_PY_WAKE, serial, 0);
}

/* ---- the wake-up ---- */

/* A run stopped short of its target (McuNode._on_stop): before a stale
 * sample of sensors whose ADC values C computes (the plants brought
 * there), or with output to send (not a shutdown, not too long).  0: not
 * handled, Python must. */
static int handled_stop(struct fw_node *n, int state, int64_t now_ns)
{
    if (state == FW_RUN_SAMPLE) {
        if (!n->thermal || n->thermal->py_adc)
            return 0;
        fw_node_on_sample(n);
        return 1;
    }
    size_t len = fw_tx_available(n->fw);
    if (len > FW_NODE_OUT_MAX || fw_is_shutdown(n->fw))
        return 0;
    if (len) {
        uint8_t data[FW_NODE_OUT_MAX];
        fw_tx_read(n->fw, data, len);
        send_out(n, data, len, fw_now(n->fw), now_ns);
    }
    return 1;
}

void fw_node_schedule_wake(struct fw_node *n, int64_t at)
{
    n->wake_slot = schedule(n, at, (void *)fw_node_wake_event, 0);
    n->wake_seq = *n->last_seq;
    n->wake_at = at;
    n->wake_set = 1;
}

/* McuNode._plan_wake after a wake-up (no wake event pending): at the
 * first grid point where the firmware could transmit, none if never. */
static void plan_wake(struct fw_node *n, int64_t now_ns)
{
    uint64_t quiet = fw_quiet_until(n->fw);
    n->planned_quiet = quiet;
    n->has_planned = 1;
    if (quiet != UINT64_MAX)
        fw_node_schedule_wake(n, fw_grid_wake_at(&n->grid, quiet, now_ns));
}

/* McuNode._wake: run the firmware to now, sending what it writes on the
 * way (_advance, _on_stop, _emit_pending), then plan the next wake. */
int32_t fw_node_wake_event(void *node, int64_t now_ns, int64_t arg)
{
    struct fw_node *n = node;
    (void)arg;
    n->wake_set = 0;
    if (n->py_only || !n->grid_set)
        return fw_node_py(n->py, FW_PY_WAKE_ALL, 0, 0);
    n->wakes++;
    uint64_t target = (uint64_t)node_clock(n, now_ns);
    for (;;) {
        int state = fw_run_until(n->fw, target, n->stops);
        if (state == FW_RUN_REACHED)
            break;
        if (handled_stop(n, state, now_ns))
            continue;
        if (state == FW_RUN_SAMPLE) {        /* (a sensor Python reads) */
            if (fw_node_py(n->py, FW_PY_SAMPLE, 0, 0))
                return 1;
            continue;
        }
        return fw_node_py(n->py, FW_PY_WAKE_REST, (int64_t)target, state);
    }
    if (fw_is_shutdown(n->fw))
        return fw_node_py(n->py, FW_PY_WAKE_REST, (int64_t)target, FW_RUN_REACHED);
    if (n->thermal)
        fw_node_run_end(n, (int64_t)fw_now(n->fw));
    plan_wake(n, now_ns);
    return 0;
}

/* ---- the heaters' plants on the poll grid ---- */

/* The first grid point at which the next plant update is due (cached
 * while the update chain does not move). */
static int64_t next_grid_point(struct fw_node *n)
{
    struct fw_thermal *t = n->thermal;
    if (!n->has_gp || n->gp_due != t->next_due) {
        n->gp_point = fw_grid_point_reaching(&n->grid, t->next_due);
        n->gp_due = t->next_due;
        n->has_gp = 1;
    }
    return n->gp_point;
}

/* The plant update points the poll grid points up to MCU clock `upto`
 * made (each period, at the first point due): marked when the firmware
 * first needs them. */
void fw_node_replay_grid(struct fw_node *n, int64_t upto)
{
    struct fw_thermal *t = n->thermal;
    if (next_grid_point(n) > upto)
        return;
    int64_t io[FW_GRID_IO];
    io[FW_GRID_DUE] = t->next_due;
    int64_t count = fw_grid_replay(&n->grid, upto, io);
    t->next_due = io[FW_GRID_POINT] + t->period;       /* as `count` fw_thermal_mark */
    t->point = io[FW_GRID_POINT];
    t->has_point = 1;
    t->version += count;
    n->gp_due = io[FW_GRID_DUE];
    n->gp_point = io[FW_GRID_NEXT];
    n->has_gp = 1;
}

/* The sensors' ADC values hold up to the next grid update point once
 * they stand for the last update point; until then, up to that point (a
 * later sample stops the firmware to settle them). */
void fw_node_set_valid_until(struct fw_node *n)
{
    struct fw_thermal *t = n->thermal;
    if (!n->grid_known)
        return;
    n->valid_version = t->version;
    n->has_valid_version = 1;
    int64_t until = fw_thermal_settled(t) ? next_grid_point(n) : t->point;
    if (!n->has_valid_until || until != n->valid_until) {
        n->valid_until = until;
        n->has_valid_until = 1;
        fw_set_adc_valid_until(n->fw, (uint64_t)until);
    }
}

/* A run reached its target, MCU clock `now`: the grid points up to there,
 * and the arrival itself, are update points. */
void fw_node_run_end(struct fw_node *n, int64_t now)
{
    struct fw_thermal *t = n->thermal;
    if (now >= t->next_due) {
        fw_node_replay_grid(n, now);
        fw_thermal_mark(t, now);
    }
    if (!n->has_valid_version || t->version != n->valid_version)
        fw_node_set_valid_until(n);
}

/* The firmware stopped before sampling a stale sensor: the plants are
 * brought to the last grid point due before it (their ADC values set:
 * thermistors only, py_adc is 0). */
void fw_node_on_sample(struct fw_node *n)
{
    fw_node_replay_grid(n, (int64_t)fw_now(n->fw) - 1);
    fw_thermal_settle_point(n->thermal);
    fw_node_set_valid_until(n);
}
