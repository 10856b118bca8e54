/* Basic commands, object ids and the move queue.
 *
 * Contract: identify serves the zlib-compressed data dictionary in chunks;
 * get_uptime/get_clock report the clock; get_config reports the
 * configuration state and the move-queue size; allocate_oids and the
 * config_* commands create objects (only before finalize_config);
 * emergency_stop and clear_shutdown manage the shutdown state; a stats
 * report is sent every 5 seconds.  The move queue is one fixed pool of
 * move_count nodes shared by all steppers and digital outputs; running
 * out of nodes shuts down with "Move queue overflow".
 */
#include <stdlib.h>
#include <string.h>
#include "fw.h"
#include "board.h"

#define STATS_REPORT_MS 5000   /* Klipper's stats period (KLIPPER-FACTS 3.1) */

/* ---- object ids ---- */

static void *fw_calloc(struct mcu *m, size_t size)
{
    void *p = calloc(1, size);
    void **list = realloc(m->allocs, (m->alloc_count + 1) * sizeof(void *));
    if (!p || !list) {
        free(p);
        if (list)
            m->allocs = list;
        shutdown(m, "alloc_chunk failed");
    }
    m->allocs = list;
    m->allocs[m->alloc_count++] = p;
    return p;
}

void config_check_unfinalized(struct mcu *m)
{
    if (m->config_finalized)
        shutdown(m, "Already finalized");
}

void *oid_alloc(struct mcu *m, uint8_t oid, uint8_t type, size_t size)
{
    config_check_unfinalized(m);
    if (oid >= m->oid_count || m->oids[oid].type != OT_NONE)
        shutdown(m, "Can't assign oid");
    void *obj = fw_calloc(m, size);
    m->oids[oid].type = type;
    m->oids[oid].obj = obj;
    return obj;
}

void *oid_lookup(struct mcu *m, uint8_t oid, uint8_t type)
{
    if (oid >= m->oid_count || m->oids[oid].type != type)
        shutdown(m, "Invalid oid type");
    return m->oids[oid].obj;
}

DECL_COMMAND(command_allocate_oids, "allocate_oids count=%c");
void command_allocate_oids(struct mcu *m, uint32_t *args)
{
    if (m->oids_allocated)
        shutdown(m, "oids already allocated");
    uint8_t count = args[0];
    m->oids = fw_calloc(m, (count ? count : 1) * sizeof(struct oid_slot));
    m->oid_count = count;
    m->oids_allocated = 1;
}

DECL_COMMAND(command_finalize_config, "finalize_config crc=%u");
void command_finalize_config(struct mcu *m, uint32_t *args)
{
    config_check_unfinalized(m);
    m->config_crc = args[0];
    m->config_finalized = 1;
}

DECL_COMMAND_FLAGS(command_get_config, HF_IN_SHUTDOWN, "get_config");
void command_get_config(struct mcu *m, uint32_t *args)
{
    sendf(m, "config is_config=%c crc=%u is_shutdown=%c move_count=%hu",
          m->config_finalized, m->config_crc, sched_is_shutdown(m),
          m->move_count);
}

/* ---- the move queue ---- */

void move_pool_init(struct mcu *m)
{
    m->move_free_list = NULL;
    for (int i = m->move_count - 1; i >= 0; i--) {
        m->move_pool[i].next = m->move_free_list;
        m->move_free_list = &m->move_pool[i];
    }
    m->moves_in_use = 0;
}

struct move_node *move_alloc(struct mcu *m)
{
    struct move_node *n = m->move_free_list;
    if (!n)
        shutdown(m, "Move queue overflow");
    m->move_free_list = n->next;
    m->moves_in_use++;
    n->next = NULL;
    return n;
}

void move_free(struct mcu *m, struct move_node *n)
{
    n->next = m->move_free_list;
    m->move_free_list = n;
    m->moves_in_use--;
}

void move_queue_push(struct move_queue *q, struct move_node *n)
{
    n->next = NULL;
    if (q->first)
        q->last->next = n;
    else
        q->first = n;
    q->last = n;
}

struct move_node *move_queue_pop(struct move_queue *q)
{
    struct move_node *n = q->first;
    q->first = n->next;
    return n;
}

void move_queue_clear(struct mcu *m, struct move_queue *q)
{
    while (q->first)
        move_free(m, move_queue_pop(q));
}

/* ---- identification and clock ---- */

DECL_COMMAND_FLAGS(command_identify, HF_IN_SHUTDOWN,
                   "identify offset=%u count=%c");
void command_identify(struct mcu *m, uint32_t *args)
{
    /* at most what fits one response block beside msgid/offset/length */
    uint32_t offset = args[0], count = args[1], max_chunk = 48;
    if (count > max_chunk)
        count = max_chunk;
    uint32_t total = m->profile->dict_zlib_len;
    if (offset > total)
        offset = total;
    if (count > total - offset)
        count = total - offset;
    sendf(m, "identify_response offset=%u data=%.*s", offset, count,
          m->profile->dict_zlib + offset);
}

/* The high 32 bits of the clock are counted by noticing wrap-arounds;
 * the periodic timer (every 100 ms) reads the clock often enough. */
uint32_t clock_high_bits(struct mcu *m)
{
    uint32_t now = timer_read_time(m);
    if (now < m->clock_last)
        m->clock_high++;
    m->clock_last = now;
    return m->clock_high;
}

DECL_COMMAND_FLAGS(command_get_uptime, HF_IN_SHUTDOWN, "get_uptime");
void command_get_uptime(struct mcu *m, uint32_t *args)
{
    uint32_t high = clock_high_bits(m);
    sendf(m, "uptime high=%u clock=%u", high, m->clock_last);
}

DECL_COMMAND_FLAGS(command_get_clock, HF_IN_SHUTDOWN, "get_clock");
void command_get_clock(struct mcu *m, uint32_t *args)
{
    sendf(m, "clock clock=%u", timer_read_time(m));
}

/* ---- shutdown control ---- */

DECL_COMMAND_FLAGS(command_emergency_stop, HF_IN_SHUTDOWN, "emergency_stop");
void command_emergency_stop(struct mcu *m, uint32_t *args)
{
    shutdown(m, "Command request");
}

DECL_COMMAND_FLAGS(command_clear_shutdown, HF_IN_SHUTDOWN, "clear_shutdown");
void command_clear_shutdown(struct mcu *m, uint32_t *args)
{
    if (!sched_is_shutdown(m))
        shutdown(m, "Shutdown cleared when not shutdown");
    m->shutdown_status = 0;
}

/* ---- stats ---- */

/* Klipper reports the busy time of its main loop; in the simulation code
 * runs in zero time, so sum and sumsq are 0 and count is the number of
 * task-loop passes. */
/* Ticks from `now` before stats_task can send: its period must be over
 * and then a task pass must run (the periodic timer's, or one another
 * timer asks for, which that timer's own bound covers). */
int64_t stats_quiet_ticks(struct mcu *m, uint32_t now)
{
    uint32_t period = sched_ms_ticks(m, STATS_REPORT_MS);
    uint32_t since = now - m->stats_last_clock;
    int64_t due = since >= period ? 0 : (int64_t)(period - since);
    return sched_periodic_at_or_after(m, now, due);
}

void stats_task(struct mcu *m)
{
    uint32_t now = timer_read_time(m);
    clock_high_bits(m);
    if (now - m->stats_last_clock < sched_ms_ticks(m, STATS_REPORT_MS))
        return;
    sendf(m, "stats count=%u sum=%u sumsq=%u", m->stats_count, 0, 0);
    m->stats_last_clock = now;
    m->stats_count = 0;
}
