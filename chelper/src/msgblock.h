// Message block encoding/decoding fast paths for chelper/streamio.py.
//
// Klipper wire format (KLIPPER-FACTS 3.3, 4): VLQ integers; blocks are
// len, 0x10|seq, payload (<= 59 bytes), crc16 hi, crc16 lo, 0x7E.
#ifndef KLIPSIM_MSGBLOCK_H
#define KLIPSIM_MSGBLOCK_H

#include <stdint.h>

// Block layout (docs/Protocol.md): len, 0x10|seq, payload, crc16, sync.
#define MSG_MIN 5
#define MSG_MAX 64
#define MSG_PAYLOAD_MAX (MSG_MAX - MSG_MIN)
#define MSG_DEST 0x10
#define MSG_SEQ_MASK 0x0f
#define MSG_SYNC 0x7e

// Write header and trailer around the payload at frame + 2; returns the
// block length.
int msgblock_frame(uint8_t *frame, int payload_len, int32_t seq);

/* cffi:begin */
uint16_t msgblock_crc16(const uint8_t *data, int len);
int msgblock_encode_vlq(uint8_t *out, int64_t value);
int64_t msgblock_pack(const int64_t *ints, int64_t n_ints,
                      uint8_t *block, int32_t *block_len, int32_t *seq,
                      uint8_t *out, int64_t out_cap);
int64_t msgblock_flush(uint8_t *block, int32_t *block_len, int32_t *seq,
                       uint8_t *out, int64_t out_cap);
int64_t msgblock_unpack(const uint8_t *data, int64_t len, int32_t final,
                        const int8_t *layout, const int32_t *layout_start,
                        int32_t id_offset, int32_t n_ids,
                        int64_t *ints, int64_t ints_cap,
                        int64_t *n_ints_out, int64_t *error_pos);
/* cffi:end */

#endif
