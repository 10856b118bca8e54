// Decoded message blocks as the rows of msgtext.c's scanner, so a binary
// stream goes through the same fast path as a text one
// (klipsim.chelper.streamio.read_rows, sim/execute).
//
// Input: msgblock_unpack's integers (message id, then one integer per
// parameter, two for a buffer: offset and length).  Output rows of six
// int64s: (0, oid, interval, count, add, 0) for queue_step, (1, oid, dir,
// 0, 0, 0) for set_next_step_dir, (2, start, end, 0, 0, 0) for any other
// message, start/end being its index range in the integers.
#include <string.h>
#include "msgrows.h"

int64_t msgrows_from_ints(const int64_t *ints, int64_t n, const int8_t *layout,
                          const int32_t *layout_start, int32_t id_offset, int32_t n_ids,
                          int64_t qs_id, int64_t sd_id, int64_t *rows, int64_t max_rows,
                          int64_t *pos_io)
{
    int64_t pos = *pos_io, nrows = 0;
    while (pos < n && nrows < max_rows) {
        int64_t id = ints[pos];
        int32_t start = layout_start[id + id_offset];
        int64_t len = 1;
        for (int k = 0; k < layout[start]; k++)
            len += layout[start + 1 + k] == 1 ? 2 : 1;
        int64_t *r = rows + MSGROWS_ROW * nrows++;
        memset(r, 0, MSGROWS_ROW * sizeof(*r));
        if (id == qs_id && len == 5) {
            memcpy(r + 1, ints + pos + 1, 4 * sizeof(*r));
        } else if (id == sd_id && len == 3) {
            r[0] = 1;
            memcpy(r + 1, ints + pos + 1, 2 * sizeof(*r));
        } else {
            r[0] = 2; r[1] = pos; r[2] = pos + len;
        }
        pos += len;
    }
    *pos_io = pos;
    return nrows;
}
