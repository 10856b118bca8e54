#ifndef KLIPSIM_STEPCOMPRESS_H
#define KLIPSIM_STEPCOMPRESS_H
/* Step compression: step clocks in, queue_step / set_next_step_dir /
 * reset_step_clock messages out.  See stepcompress.c. */
#include <stdint.h>

/* cffi:begin */
/* Message kinds, in the order the compressor produced them. */
enum { SC_MSG_QUEUE_STEP = 0, SC_MSG_SET_NEXT_STEP_DIR = 1,
       SC_MSG_RESET_STEP_CLOCK = 2 };

struct sc_message {
    uint64_t req_clock, min_clock;
    int64_t p0, p1, p2;     /* queue_step: interval, count, add;
                               set_next_step_dir: dir; reset: clock */
    uint32_t kind, reserved;
};

struct stepcompress;

struct stepcompress *stepcompress_new(uint32_t oid, uint32_t max_error,
                                      int invert_dir);
void stepcompress_delete(struct stepcompress *sc);
void stepcompress_set_invert_dir(struct stepcompress *sc, int invert_dir);
int stepcompress_invert_dir(struct stepcompress *sc);
void stepcompress_set_time(struct stepcompress *sc, double time_offset,
                           double mcu_freq);
int stepcompress_append(struct stepcompress *sc, int sdir,
                        double move_print_time, double step_time);
int stepcompress_append_clock(struct stepcompress *sc, int sdir,
                              uint64_t clock);
int stepcompress_commit(struct stepcompress *sc);
void stepcompress_note_generated(struct stepcompress *sc, double print_time);
int stepcompress_flush(struct stepcompress *sc, uint64_t move_clock);
int stepcompress_reset(struct stepcompress *sc, uint64_t last_step_clock);
int stepcompress_queue_reset_step_clock(struct stepcompress *sc,
                                        uint64_t clock);
uint64_t stepcompress_last_step_clock(struct stepcompress *sc);
int64_t stepcompress_position(struct stepcompress *sc);
int stepcompress_step_dir(struct stepcompress *sc);
int64_t stepcompress_find_past_position(struct stepcompress *sc,
                                        uint64_t clock);
void stepcompress_expire_history(struct stepcompress *sc, uint64_t clock);
int stepcompress_set_last_position(struct stepcompress *sc, uint64_t clock,
                                   int64_t position);
uint32_t stepcompress_oid(struct stepcompress *sc);
int stepcompress_message_count(struct stepcompress *sc);
int stepcompress_take_messages(struct stepcompress *sc,
                               struct sc_message *out, int max_count);
const char *stepcompress_error(struct stepcompress *sc);
void stepcompress_queue_message(struct stepcompress *sc, uint32_t kind,
                                uint64_t req_clock, uint64_t min_clock,
                                int64_t p0, int64_t p1, int64_t p2);
int stepcompress_fail(struct stepcompress *sc, const char *what);
/* The step solver's cursor (stepcompress_cursor.h) over a list of
   appends and commits, for the tests that compare it with the full path. */
int stepcompress_cursor_run(struct stepcompress *sc, double move_print_time,
                            int count, const int *ops, const double *times);
/* The compressor's independent check of a run against the queued steps
   (stepcompress_run.c), for its tests: 0, or -1 with the error set. */
int stepcompress_check_run(struct stepcompress *sc, int64_t interval,
                           int64_t count, int64_t add);
/* cffi:end */

#define SC_ERROR (-1)

#endif
