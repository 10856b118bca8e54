// Decoded message blocks as scanner rows (msgrows.c).
#ifndef KLIPSIM_MSGROWS_H
#define KLIPSIM_MSGROWS_H

#include <stdint.h>

#define MSGROWS_ROW 6

/* cffi:begin */
int64_t msgrows_from_ints(const int64_t *ints, int64_t n, const int8_t *layout,
                          const int32_t *layout_start, int32_t id_offset, int32_t n_ids,
                          int64_t qs_id, int64_t sd_id, int64_t *rows, int64_t max_rows,
                          int64_t *pos_io);
/* cffi:end */

#endif
