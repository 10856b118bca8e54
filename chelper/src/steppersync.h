// Merging one MCU's step messages by clock into one batch per flush, as
// Klipper's steppersync does for its serial queue.  See steppersync.c.
#ifndef KLIPSIM_STEPPERSYNC_H
#define KLIPSIM_STEPPERSYNC_H

#include <stdint.h>
#include "stepcompress.h"

/* cffi:begin */
/* One message of a batch: a compressor's sc_message with the stepper's
 * oid in place of the reserved word.  kind is SC_MSG_QUEUE_STEP (p0..p2:
 * interval, count, add), SC_MSG_SET_NEXT_STEP_DIR (p0: dir) or
 * SC_MSG_RESET_STEP_CLOCK (p0: clock, masked to its 32 wire bits).
 * Same size and field offsets as struct sc_message. */
struct ss_message {
    uint64_t req_clock, min_clock;
    int64_t p0, p1, p2;
    uint32_t kind, oid;
};

/* What one flush sends to the MCU, owned by its steppersync and valid
 * until the next flush:
 *   msgs[0..count)    the messages in sending order;
 *   kind_count[k]     how many are of kind k;
 *   kind_first[k]     index of the first of kind k, -1 if none;
 *   steps[i], oids[i] steps carried by the queue_step messages of the
 *                     i-th registered compressor, and its oid
 *                     (i < n_steppers, registration order);
 *   failed            see below (count is 0 when it is set);
 * and the same sums over every flush of the steppersync so far (so a
 * consumer that only needs totals reads them once, at the end):
 *   total_count, total_kind[k], total_steps[i]. */
struct ss_batch {
    struct ss_message *msgs;
    int64_t count;
    int64_t kind_count[3];
    int64_t kind_first[3];
    int64_t *steps;
    uint32_t *oids;
    int32_t n_steppers;
    int32_t failed;     /* registered index of a compressor whose flush
                           failed (its stepcompress_error says why), or -1 */
    int64_t total_count;
    int64_t total_kind[3];
    int64_t *total_steps;
};

/* How steppersync_flatten writes a message of one kind as integers:
 * the n_prefix constants, then the n_fields message fields named by
 * SS_FIELD_* in that order. */
enum { SS_FIELD_OID = 0, SS_FIELD_P0 = 1, SS_FIELD_P1 = 2, SS_FIELD_P2 = 3 };
struct ss_layout {
    int64_t prefix[2];
    int32_t n_prefix, n_fields;
    int32_t fields[4];
};

struct steppersync;

struct steppersync *steppersync_new(void);
void steppersync_free(struct steppersync *ss);
int steppersync_add(struct steppersync *ss, struct stepcompress *sc);
const struct ss_batch *steppersync_flush(struct steppersync *ss,
                                         uint64_t flush_clock);
int64_t steppersync_flatten(const struct ss_batch *batch,
                            const struct ss_layout *layouts,
                            int64_t *ints, int64_t cap);
/* cffi:end */

#define SS_MAX_INTS_PER_MESSAGE 6

// Field `field` (SS_FIELD_*) of message m.
static inline int64_t
ss_message_field(const struct ss_message *m, int32_t field)
{
    switch (field) {
    case SS_FIELD_OID: return m->oid;
    case SS_FIELD_P0: return m->p0;
    case SS_FIELD_P1: return m->p1;
    default: return m->p2;
    }
}

// Message m as integers: layouts[kind]'s prefix constants, then its
// fields.  Returns how many (at most SS_MAX_INTS_PER_MESSAGE), -1 for a
// kind without a layout.
static inline int
ss_message_ints(const struct ss_message *m, const struct ss_layout *layouts,
                int64_t *ints)
{
    if (m->kind > SC_MSG_RESET_STEP_CLOCK)
        return -1;
    const struct ss_layout *l = &layouts[m->kind];
    int n = 0;
    for (int k = 0; k < l->n_prefix; k++)
        ints[n++] = l->prefix[k];
    for (int k = 0; k < l->n_fields; k++)
        ints[n++] = ss_message_field(m, l->fields[k]);
    return n;
}

#endif
