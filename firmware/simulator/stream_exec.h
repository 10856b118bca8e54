/* The host side of `klipsim execute` in C (stream_plan.c, stream_exec.c):
 * planning, the reorder buffer, message groups, their delivery to the
 * firmware and the step count.  The Python-visible part is declared in
 * fwsim.h (between its cffi markers); this header holds the internals.
 */
#ifndef KLIPSIM_STREAM_EXEC_H
#define KLIPSIM_STREAM_EXEC_H

#include <stdint.h>
#include "fwsim.h"

#define SP_DIRECT 256          /* oids 0..255: their own slot */
#define SP_EXTRA_SLOTS 64      /* other key values (fuzzed streams) */
#define SP_SLOTS (SP_DIRECT + SP_EXTRA_SLOTS)
#define SP_IS_ERR(x) ((x) <= SP_ERR_SLOTS && (x) > SP_NONE)

struct stream_planner {
    int64_t move_count, lead, end_margin;
    int wide;
    int64_t extra_keys[SP_EXTRA_SLOTS];
    int n_extra;
    int64_t last_step[SP_SLOTS], last_update[SP_SLOTS];
    uint8_t has_step[SP_SLOTS], has_update[SP_SLOTS], has_clk[SP_SLOTS];
    int64_t n_updates;
    int64_t q_time[SP_SLOTS], tq_time[SP_SLOTS], q_max;
    int64_t clk_last[SP_SLOTS], clk_progress;
    int64_t barrier, progress, deadline, zero_clock_fixes, max_duration, planned;
    int64_t *slots, nslots;
};

void sp_init(struct stream_planner *p, int64_t move_count, int64_t lead,
             int64_t end_margin, int wide);
void sp_free(struct stream_planner *p);
int64_t sp_plan_queue_step(struct stream_planner *p, int64_t oid, int64_t interval,
                           int64_t count, int64_t add);
int64_t sp_plan(struct stream_planner *p, const struct sp_message *m, int64_t *clock_io);
int64_t sp_end_clock(struct stream_planner *p);

#endif
