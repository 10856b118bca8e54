/* The host side of `klipsim execute`, in C: what sim/execute's Python
 * loop did per message, for whole chunks of a stream.
 *
 * - se_feed_rows takes the rows of a scanned text stream or of decoded
 *   blocks (kind 0 queue_step oid,interval,count,add; kind 1
 *   set_next_step_dir oid,dir; kind 2 anything else), plans the step
 *   rows (stream_plan.c), encodes them for the firmware and pushes them
 *   into the reorder buffer.  It stops at a kind 2 row (SE_RARE: Python
 *   parses, plans with se_plan and pushes it with se_push), at a step row
 *   Python must see because it is wrong (SE_SLOW: Python raises the
 *   error), and whenever the reorder buffer is due for a release.
 * - The reorder buffer is a min-heap on (planned clock, stream index);
 *   se_release moves the entries planned before progress - horizon (all,
 *   when final) into the release list in that order: the same order as
 *   Python's sort-then-cut of its pending list.
 * - se_emit forms groups from the release list (messages planned within
 *   `window` of a group's first share it, sent at its latest planned
 *   clock), keeping margins (deadline - group clock) per key.  It stops
 *   before each entry Python must see (rare >= 0: it changes the
 *   simulated world or what the host tracks).
 * - se_deliver hands the closed groups to fw_deliver_groups; output made
 *   only of acks and of responses nobody answers (not shutdown,
 *   is_shutdown nor trsync_state: the `loud` table) is counted here,
 *   anything else is kept for Python (se_output).
 * - se_drain counts the firmware's step pulses per pin.
 */
#include <stdlib.h>
#include <string.h>
#include "stream_exec.h"

#define INLINE_INTS 6
#define MAX_KEYS 256
#define U32 0xFFFFFFFFLL
#define ROW 6

struct entry {
    int64_t ready, index, deadline;
    int32_t key, rare, nints, arena;      /* arena < 0: ints inline */
    int64_t ints[INLINE_INTS];
};

struct due { int32_t key; int64_t deadline; };

struct pin_sum { int64_t count, net, first, last, chunk; };

struct stream_exec {
    struct stream_planner plan;
    int64_t window, horizon, batch, qs_id, sd_id, next_sort, index;
    int sd_ok;
    /* reorder heap and the release list */
    struct entry *heap, *released;
    size_t nheap, capheap, nrel, caprel, relpos;
    int64_t *arena;
    size_t narena, caparena;
    /* groups being built: closed ones [sent_groups, ngroups), then the open one */
    int64_t *ints;
    uint32_t *msg_ends, *group_ends;
    uint64_t *clocks;
    size_t nints, capints, nmsgs, capmsgs, ngroups, capgroups, capclocks, sent_groups;
    int has_first;
    int64_t first, clock;
    struct due due[MAX_KEYS];
    int ndue;
    int64_t margin[MAX_KEYS], margin_order[MAX_KEYS];
    int64_t nmargins;
    /* output and statistics */
    const int8_t *layout;
    const int32_t *layout_start;
    int32_t id_offset, n_ids;
    const uint8_t *loud;
    uint8_t *out;
    size_t nout, capout;
    int64_t blocks, late_groups, responses;
    struct pin_sum *pins;
    size_t npins;
    struct fw_pulse *scratch;
    size_t capscratch;
    int64_t chunks;
};

struct stream_exec *se_new(int64_t move_count, int64_t lead, int64_t end_margin,
                           int wide, int64_t window, int64_t horizon, int64_t batch,
                           int64_t qs_id, int64_t sd_id, int sd_ok)
{
    struct stream_exec *se = calloc(1, sizeof(*se));
    if (!se)
        return NULL;
    sp_init(&se->plan, move_count, lead, end_margin, wide);
    se->window = window;
    se->horizon = horizon;
    se->batch = batch;
    se->next_sort = batch;
    se->qs_id = qs_id;
    se->sd_id = sd_id;
    se->sd_ok = sd_ok;
    for (int k = 0; k < MAX_KEYS; k++)
        se->margin_order[k] = -1;
    return se;
}

void se_free(struct stream_exec *se)
{
    if (!se)
        return;
    sp_free(&se->plan);
    free(se->heap); free(se->released); free(se->arena);
    free(se->ints); free(se->msg_ends); free(se->group_ends); free(se->clocks);
    free(se->out); free(se->pins); free(se->scratch);
    free(se);
}

/* ---- planning (stream_plan.c) ---- */

int64_t se_plan(struct stream_exec *se, const struct sp_message *m, int64_t *clock_io,
                int64_t *deadline)
{
    int64_t ready = sp_plan(&se->plan, m, clock_io);
    *deadline = se->plan.deadline;
    return ready;
}

int64_t se_plan_queue_step(struct stream_exec *se, int64_t oid, int64_t interval,
                           int64_t count, int64_t add, int64_t *deadline)
{
    int64_t ready = sp_plan_queue_step(&se->plan, oid, interval, count, add);
    *deadline = se->plan.deadline;
    return ready;
}

/* ---- the reorder heap ---- */

static int before(const struct entry *a, const struct entry *b)
{
    return a->ready < b->ready || (a->ready == b->ready && a->index < b->index);
}

static void heap_push(struct stream_exec *se, const struct entry *e)
{
    se->heap = fw_grow(se->heap, &se->capheap, se->nheap + 1, sizeof(*se->heap));
    size_t i = se->nheap++;
    while (i) {
        size_t parent = (i - 1) / 2;
        if (!before(e, &se->heap[parent]))
            break;
        se->heap[i] = se->heap[parent];
        i = parent;
    }
    se->heap[i] = *e;
}

static void heap_pop(struct stream_exec *se, struct entry *out)
{
    struct entry *h = se->heap;
    *out = h[0];
    struct entry last = h[--se->nheap];
    size_t i = 0, n = se->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&h[c + 1], &h[c]))
            c++;
        if (!before(&h[c], &last))
            break;
        h[i] = h[c];
        i = c;
    }
    if (n)
        h[i] = last;
}

int se_push(struct stream_exec *se, int64_t ready, int64_t deadline, int32_t key,
            int32_t rare, const int64_t *ints, int32_t n)
{
    struct entry e;
    e.ready = ready;
    e.index = se->index++;
    e.deadline = deadline;
    e.key = key;
    e.rare = rare;
    e.nints = n;
    if (n <= INLINE_INTS) {
        e.arena = -1;
        memcpy(e.ints, ints, n * sizeof(*ints));
    } else {
        se->arena = fw_grow(se->arena, &se->caparena, se->narena + n, sizeof(*se->arena));
        e.arena = (int32_t)se->narena;
        memcpy(se->arena + se->narena, ints, n * sizeof(*ints));
        se->narena += n;
    }
    heap_push(se, &e);
    return (int64_t)se->nheap >= se->next_sort;
}

void se_release(struct stream_exec *se, int final)
{
    int64_t limit = se->plan.progress - se->horizon;
    /* the unprocessed tail of the list stays first */
    size_t keep = se->nrel - se->relpos;
    memmove(se->released, se->released + se->relpos, keep * sizeof(*se->released));
    se->nrel = keep;
    se->relpos = 0;
    while (se->nheap && (final || se->heap[0].ready < limit)) {
        se->released = fw_grow(se->released, &se->caprel, se->nrel + 1, sizeof(*se->released));
        heap_pop(se, &se->released[se->nrel++]);
    }
    se->next_sort = (int64_t)se->nheap + se->batch;
}

/* ---- step rows ---- */

static int fits_c(int64_t v)       /* a %c value (stream_check.check_ints) */
{
    return (v >= 0 && v <= 0xFF) || v == U32 || v == -1;
}

/* One step row; SE_DONE when pushed (SE_RELEASE if a release is due). */
static int feed_row(struct stream_exec *se, const int64_t *r)
{
    int64_t ints[5], deadline;
    if (r[0] == 0) {
        int64_t interval = r[2], count = r[3], add = r[4];
        if (interval < 0 || interval > U32 || count < 0 || count > 0xFFFF
            || add < -0x8000 || add > 0x7FFF)
            return SE_SLOW;
        int64_t ready = se_plan_queue_step(se, r[1], interval, count, add, &deadline);
        if (SP_IS_ERR(ready))
            return SE_SLOW;
        ints[0] = se->qs_id; ints[1] = r[1]; ints[2] = interval; ints[3] = count;
        ints[4] = add;
        return se_push(se, ready, deadline, 0, -1, ints, 5) ? SE_RELEASE : SE_DONE;
    }
    if (r[0] != 1 || !se->sd_ok)
        return SE_RARE;
    if (!fits_c(r[1]) || !fits_c(r[2]))
        return SE_SLOW;
    struct sp_message m = { SP_STEP_DIR, SP_Q_OID, r[1], 0, 0, 0 };
    int s = r[1] >= 0 && r[1] < SP_DIRECT ? (int)r[1] : -1;
    if (s < 0 || !se->plan.has_step[s])
        return SE_SLOW;         /* unconfigured, or a key Python should see */
    int64_t ready = se_plan(se, &m, NULL, &deadline);
    if (SP_IS_ERR(ready))
        return SE_SLOW;
    ints[0] = se->sd_id; ints[1] = r[1]; ints[2] = r[2];
    return se_push(se, ready, deadline, 0, -1, ints, 3) ? SE_RELEASE : SE_DONE;
}

int se_feed_rows(struct stream_exec *se, const int64_t *rows, int64_t nrows,
                 int64_t *row_io)
{
    for (int64_t i = *row_io; i < nrows; i++) {
        int code = feed_row(se, rows + i * ROW);
        if (code == SE_DONE)
            continue;
        *row_io = code == SE_RELEASE ? i + 1 : i;
        return code;
    }
    *row_io = nrows;
    return SE_DONE;
}

/* ---- groups ---- */

static void close_group(struct stream_exec *se)
{
    se->group_ends = fw_grow(se->group_ends, &se->capgroups, se->ngroups + 1,
                          sizeof(*se->group_ends));
    se->clocks = fw_grow(se->clocks, &se->capclocks, se->ngroups + 1, sizeof(*se->clocks));
    se->group_ends[se->ngroups] = (uint32_t)se->nmsgs;
    se->clocks[se->ngroups] = (uint64_t)se->clock;
    se->ngroups++;
    for (int i = 0; i < se->ndue; i++) {
        int32_t k = se->due[i].key;
        int64_t margin = se->due[i].deadline - se->clock;
        if (se->margin_order[k] < 0) {
            se->margin_order[k] = se->nmargins++;
            se->margin[k] = margin;
        } else if (margin < se->margin[k]) {
            se->margin[k] = margin;
        }
    }
    se->ndue = 0;
}

static void add_to_group(struct stream_exec *se, const struct entry *e)
{
    if (!se->has_first || e->ready > se->first + se->window) {
        if (se->has_first)
            close_group(se);
        se->has_first = 1;
        se->first = se->clock = e->ready;
    }
    const int64_t *ints = e->arena < 0 ? e->ints : se->arena + e->arena;
    se->ints = fw_grow(se->ints, &se->capints, se->nints + e->nints, sizeof(*se->ints));
    memcpy(se->ints + se->nints, ints, e->nints * sizeof(*ints));
    se->nints += e->nints;
    se->msg_ends = fw_grow(se->msg_ends, &se->capmsgs, se->nmsgs + 1, sizeof(*se->msg_ends));
    se->msg_ends[se->nmsgs++] = (uint32_t)se->nints;
    if (e->ready > se->clock)
        se->clock = e->ready;
    if (e->deadline != SP_NONE) {
        int i;
        for (i = 0; i < se->ndue && se->due[i].key != e->key; i++)
            ;
        if (i == se->ndue) {
            se->due[se->ndue].key = e->key;
            se->due[se->ndue++].deadline = e->deadline;
        } else if (e->deadline < se->due[i].deadline) {
            se->due[i].deadline = e->deadline;
        }
    }
}

/* Messages in the open group (after the last closed one). */
static size_t open_msgs(struct stream_exec *se)
{
    return se->nmsgs - (se->ngroups ? se->group_ends[se->ngroups - 1] : 0);
}

int se_emit(struct stream_exec *se, int final, int accept_rare, int32_t *rare_out)
{
    while (se->relpos < se->nrel) {
        struct entry *e = &se->released[se->relpos];
        if (e->rare >= 0 && !accept_rare) {
            *rare_out = e->rare;
            return 1;
        }
        accept_rare = 0;
        add_to_group(se, e);
        se->relpos++;
    }
    if (final) {
        if (open_msgs(se))
            close_group(se);
        se->has_first = 0;
    }
    return 0;
}

void se_flush(struct stream_exec *se)
{
    if (open_msgs(se))
        close_group(se);
    se->has_first = 0;
}

/* ---- delivery ---- */

void se_set_responses(struct stream_exec *se, const int8_t *layout,
                      const int32_t *layout_start, int32_t id_offset, int32_t n_ids,
                      const uint8_t *loud)
{
    se->layout = layout;
    se->layout_start = layout_start;
    se->id_offset = id_offset;
    se->n_ids = n_ids;
    se->loud = loud;
}

/* Skip one VLQ integer (docs/Protocol.md); NULL past `end`. */
static const uint8_t *skip_vlq(const uint8_t *p, const uint8_t *end, int64_t *value)
{
    int64_t v = 0;
    int first = 1;
    while (p < end) {
        uint8_t c = *p++;
        if (first && (c & 0x60) == 0x60)
            v = -1;
        first = 0;
        v = (v << 7) | (c & 0x7f);
        if (!(c & 0x80)) {
            *value = v;
            return p;
        }
    }
    return NULL;
}

/* Responses in a payload if every one is quiet (known, not loud); -1 if not. */
static int64_t quiet_messages(struct stream_exec *se, const uint8_t *p, const uint8_t *end)
{
    int64_t count = 0, id;
    while (p < end) {
        p = skip_vlq(p, end, &id);
        if (!p || id + se->id_offset < 0 || id + se->id_offset >= se->n_ids)
            return -1;
        int32_t start = se->layout_start[id + se->id_offset];
        if (start < 0 || se->loud[id + se->id_offset])
            return -1;
        for (int k = 0; k < se->layout[start]; k++) {
            int64_t v;
            if (se->layout[start + 1 + k] == 1) {       /* buffer: length, data */
                if (p >= end || end - p < 1 + *p)
                    return -1;
                p += 1 + *p;
            } else if (!(p = skip_vlq(p, end, &v))) {
                return -1;
            }
        }
        count++;
    }
    return count;
}

/* The firmware's output, if only acks (the last naming `seq`) and quiet
 * responses: their count; else -1 (Python decodes it: handle_output). */
static int64_t quiet_output(struct stream_exec *se, const uint8_t *d, size_t n, uint8_t seq)
{
    int64_t count = 0, last_ack = -1;
    size_t pos = 0;
    if (!se->loud)
        return -1;
    while (pos < n) {
        if (d[pos] == 0x7e) {
            pos++;
            continue;
        }
        size_t len = d[pos];
        if (len < 5 || len > 64 || pos + len > n || d[pos + len - 1] != 0x7e
            || (d[pos + 1] & 0xf0) != 0x10)
            return -1;
        if (len == 5) {
            last_ack = d[pos + 1] & 0x0f;
        } else {
            int64_t c = quiet_messages(se, d + pos + 2, d + pos + len - 3);
            if (c < 0)
                return -1;
            count += c;
        }
        pos += len;
    }
    if (last_ack >= 0 && last_ack != seq)
        return -1;
    return count;
}

/* Read the firmware's output: 0 when it was quiet (counted), 1 when it
 * is kept for Python. */
static int take_output(struct stream_exec *se, struct mcu *m, uint8_t seq)
{
    size_t n = fw_tx_available(m);
    se->out = fw_grow(se->out, &se->capout, se->nout + n, 1);
    fw_tx_read(m, se->out + se->nout, n);
    se->nout += n;
    int64_t quiet = quiet_output(se, se->out, se->nout, seq);
    if (quiet < 0)
        return 1;
    se->responses += quiet;
    se->nout = 0;
    return 0;
}

/* Drop the sent groups, keeping the open group's messages. */
static void compact(struct stream_exec *se)
{
    size_t msg0 = se->ngroups ? se->group_ends[se->ngroups - 1] : 0;
    size_t int0 = msg0 ? se->msg_ends[msg0 - 1] : 0;
    memmove(se->ints, se->ints + int0, (se->nints - int0) * sizeof(*se->ints));
    se->nints -= int0;
    for (size_t i = msg0; i < se->nmsgs; i++)
        se->msg_ends[i - msg0] = (uint32_t)(se->msg_ends[i] - int0);
    se->nmsgs -= msg0;
    se->ngroups = se->sent_groups = 0;
}

int se_deliver(struct stream_exec *se, struct mcu *m, uint8_t *seq)
{
    while (se->sent_groups < se->ngroups) {
        if (se->nout || fw_tx_available(m)) {
            if (take_output(se, m, *seq))
                return 1;
        }
        struct fw_delivery stats = { 0, 0 };
        long done = fw_deliver_groups(m, se->ints, se->msg_ends, se->group_ends,
                                      se->clocks, se->sent_groups, se->ngroups, seq, &stats);
        if (done < 0)
            return -1;
        se->sent_groups = done;
        se->blocks += stats.blocks;
        se->late_groups += stats.late_groups;
    }
    compact(se);
    return 0;
}

/* Groups not yet sent are dropped (the firmware shut down). */
size_t se_output(struct stream_exec *se, uint8_t *out, size_t max)
{
    size_t n = se->nout < max ? se->nout : max;
    memcpy(out, se->out, n);
    memmove(se->out, se->out + n, se->nout - n);
    se->nout -= n;
    return n;
}

/* ---- step count ---- */

void se_drain(struct stream_exec *se, struct mcu *m, uint64_t before)
{
    size_t n = fw_pulses_ready(m, before);
    if (!n)
        return;
    se->scratch = fw_grow(se->scratch, &se->capscratch, n, sizeof(*se->scratch));
    fw_pulses_take(m, se->scratch, n);
    for (size_t i = 0; i < n; i++) {
        const struct fw_pulse *p = &se->scratch[i];
        if (p->pin >= se->npins) {
            size_t old = se->npins, cap = se->npins;
            se->pins = fw_grow(se->pins, &cap, (size_t)p->pin + 1, sizeof(*se->pins));
            memset(se->pins + old, 0, (cap - old) * sizeof(*se->pins));
            se->npins = cap;
        }
        struct pin_sum *s = &se->pins[p->pin];
        if (!s->count) {
            s->first = (int64_t)p->clock;
            s->chunk = se->chunks;
        }
        if (s->first > (int64_t)p->clock)
            s->first = (int64_t)p->clock;
        if (s->last < (int64_t)p->clock)
            s->last = (int64_t)p->clock;
        s->count++;
        s->net += p->dir ? 1 : -1;
    }
    se->chunks++;
}

/* Rows (pin, steps, net, first clock, last clock, first chunk). */
size_t se_pins(struct stream_exec *se, int64_t *out, size_t max_rows)
{
    size_t rows = 0;
    for (size_t pin = 0; pin < se->npins && rows < max_rows; pin++) {
        const struct pin_sum *s = &se->pins[pin];
        if (!s->count)
            continue;
        int64_t *r = out + 6 * rows++;
        r[0] = pin; r[1] = s->count; r[2] = s->net; r[3] = s->first; r[4] = s->last;
        r[5] = s->chunk;
    }
    return rows;
}

/* Rows (key, worst margin, order of first appearance). */
size_t se_margins(struct stream_exec *se, int64_t *out, size_t max_rows)
{
    size_t rows = 0;
    for (int k = 0; k < MAX_KEYS && rows < max_rows; k++) {
        if (se->margin_order[k] < 0)
            continue;
        int64_t *r = out + 3 * rows++;
        r[0] = k; r[1] = se->margin[k]; r[2] = se->margin_order[k];
    }
    return rows;
}

void se_get_stats(struct stream_exec *se, struct se_stats *out)
{
    out->planned = se->plan.planned;
    out->zero_clock_fixes = se->plan.zero_clock_fixes;
    out->progress = se->plan.progress;
    out->end_clock = sp_end_clock(&se->plan);
    out->n_updates = se->plan.n_updates;
    out->blocks = se->blocks;
    out->late_groups = se->late_groups;
    out->responses = se->responses;
    out->pending = (int64_t)se->nheap;
}
