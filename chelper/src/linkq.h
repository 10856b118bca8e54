// The simulated serial link's message queues and block builder
// (sim/link/serialqueue.py drives it): one per MCU.
#ifndef KLIPSIM_LINKQ_H
#define KLIPSIM_LINKQ_H

#include <stdint.h>
#include "steppersync.h"

/* cffi:begin */
struct linkq;
struct linkq *linkq_new(void);
void linkq_free(struct linkq *q);
int64_t linkq_push(struct linkq *q, const int64_t *ints, int64_t n_ints,
                   int64_t queued_ns, int64_t *first_req);
void linkq_init_slots(struct linkq *q, int32_t count);
void linkq_set_step_ids(struct linkq *q, int32_t queue_step, int32_t step_dir,
                        int32_t reset_clock);
int64_t linkq_push_steps(struct linkq *q, const struct ss_message *msgs,
                         int64_t start, int64_t count, int64_t queued_ns,
                         int64_t *first_req);
int64_t linkq_release(struct linkq *q, int64_t ack_clock);
int64_t linkq_first_req(struct linkq *q);
int32_t linkq_build(struct linkq *q, int32_t seq, uint8_t *frame,
                    int64_t *records, int32_t *tags, int64_t *summary);
int32_t linkq_plan(struct linkq *q, int64_t ack_clock, int64_t delta_ticks,
                   int32_t max_blocks, int32_t in_flight, int64_t window,
                   int64_t window_need, int32_t seq, uint8_t *frames,
                   int64_t *records, int32_t *tags, int64_t *summaries,
                   int32_t *window_full);
int32_t linkq_next_due(struct linkq *q, int64_t delta_ticks, int64_t *due);
int64_t linkq_pending(struct linkq *q);
int64_t linkq_ready(struct linkq *q);
/* cffi:end */

int64_t linkq_next_block(const uint8_t *data, int64_t len, int64_t *pos,
                         int64_t *bad);

// linkq_push record kinds (first int of each record)
#define LINKQ_GENERIC 0
#define LINKQ_QUEUE_STEP 1
#define LINKQ_STEP_DIR 2
#define LINKQ_RESET_CLOCK 3
// ints per message record written by linkq_build
#define LINKQ_RECORD_INTS 10

#endif
