// Message block encoding/decoding fast paths for chelper/streamio.py.
//
// Python hands over whole batches of messages as flat int64 arrays, so
// the per-message cost is C, not interpreter, time. Layouts follow
// Klipper's wire format (KLIPPER-FACTS 3.3 and 4; docs/Protocol.md):
// VLQ integers (signed, 7 bits per byte, most significant first) and
// blocks of len, 0x10|seq, payload (<= 59 bytes), crc16 hi, lo, 0x7E.
#include <string.h>
#include "msgblock.h"


// Parameter kinds in unpack layouts.
enum { KIND_SIGNED = 0, KIND_BUFFER = 1, KIND_UNSIGNED = 2 };

enum { ERR_OUT_FULL = -1, ERR_TOO_BIG = -2, ERR_LENGTH = -3, ERR_SEQ = -4,
       ERR_SYNC = -5, ERR_CRC = -6, ERR_UNKNOWN_ID = -7, ERR_OVERRUN = -8,
       ERR_TRUNCATED = -9 };

/****************************************************************
 * CRC16 (CCITT polynomial, bit-reflected, init 0xffff)
 ****************************************************************/

// CRC of each byte value: the CCITT polynomial 0x1021 bit-reversed is
// 0x8408, shifted out least significant bit first. Built once.
static uint16_t crc_table[256];
static int crc_table_ready;

static void
build_crc_table(void)
{
    for (int byte = 0; byte < 256; byte++) {
        uint16_t crc = byte;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x8408 : crc >> 1;
        crc_table[byte] = crc;
    }
    crc_table_ready = 1;
}

// Block checksum over len+seq+payload bytes.
uint16_t
msgblock_crc16(const uint8_t *data, int len)
{
    if (!crc_table_ready)
        build_crc_table();
    uint16_t crc = 0xffff;
    for (int i = 0; i < len; i++)
        crc = (crc >> 8) ^ crc_table[(crc ^ data[i]) & 0xff];
    return crc;
}

/****************************************************************
 * VLQ
 ****************************************************************/

// Encode one value; returns the byte count (1..5). Ranges as in
// docs/Protocol.md: -32..95 one byte ... else five.
int
msgblock_encode_vlq(uint8_t *out, int64_t v)
{
    uint8_t *p = out;
    if (v >= 0xc000000 || v < -0x4000000)
        *p++ = ((v >> 28) & 0x7f) | 0x80;
    if (v >= 0x180000 || v < -0x80000)
        *p++ = ((v >> 21) & 0x7f) | 0x80;
    if (v >= 0x3000 || v < -0x1000)
        *p++ = ((v >> 14) & 0x7f) | 0x80;
    if (v >= 0x60 || v < -0x20)
        *p++ = ((v >> 7) & 0x7f) | 0x80;
    *p++ = v & 0x7f;
    return p - out;
}

// Decode one value at data[*pos] (bounded by end); -1 if it runs past.
static int
decode_vlq(const uint8_t *data, int64_t *pos, int64_t end, int64_t *value)
{
    if (*pos >= end)
        return -1;
    uint8_t c = data[(*pos)++];
    int64_t v = c & 0x7f;
    if ((c & 0x60) == 0x60)
        v |= -0x20;
    while (c & 0x80) {
        if (*pos >= end)
            return -1;
        c = data[(*pos)++];
        v = (int64_t)((uint64_t)v << 7) | (c & 0x7f);
    }
    *value = v;
    return 0;
}

/****************************************************************
 * Packing messages into blocks
 ****************************************************************/

int
msgblock_frame(uint8_t *frame, int payload_len, int32_t seq)
{
    int n = payload_len + MSG_MIN;
    frame[0] = n;
    frame[1] = MSG_DEST | (seq & MSG_SEQ_MASK);
    uint16_t crc = msgblock_crc16(frame, n - 3);
    frame[n - 3] = crc >> 8;
    frame[n - 2] = crc & 0xff;
    frame[n - 1] = MSG_SYNC;
    return n;
}

// Frame the open block into out and start the next sequence number.
static int64_t
close_block(uint8_t *block, int32_t *block_len, int32_t *seq,
            uint8_t *out, int64_t out_cap)
{
    int n = *block_len + MSG_MIN;
    if (n > out_cap)
        return ERR_OUT_FULL;
    memcpy(out + 2, block, *block_len);
    msgblock_frame(out, *block_len, *seq);
    *seq = (*seq + 1) & MSG_SEQ_MASK;
    *block_len = 0;
    return n;
}

// Encode a batch of messages and pack them, in order, into blocks: a
// block is closed when the next message does not fit. `ints` holds per
// message either n > 0 followed by n values (message id, then integer
// parameters) or n < 0 followed by -n pre-encoded bytes. The open block
// (block, block_len) and seq persist between calls. Returns the bytes of
// complete blocks written to out, or a negative error.
int64_t
msgblock_pack(const int64_t *ints, int64_t n_ints,
              uint8_t *block, int32_t *block_len, int32_t *seq,
              uint8_t *out, int64_t out_cap)
{
    int64_t written = 0, i = 0;
    uint8_t msg[MSG_MAX * 5];
    while (i < n_ints) {
        int64_t n = ints[i++];
        int len = 0;
        int64_t count = n > 0 ? n : -n;
        if (i + count > n_ints || count > MSG_MAX)
            return ERR_TOO_BIG;
        for (int64_t k = 0; k < count; k++) {
            if (n > 0)
                len += msgblock_encode_vlq(msg + len, ints[i + k]);
            else
                msg[len++] = ints[i + k];
        }
        i += count;
        if (len > MSG_PAYLOAD_MAX)
            return ERR_TOO_BIG;
        if (*block_len + len > MSG_PAYLOAD_MAX) {
            int64_t r = close_block(block, block_len, seq, out + written,
                                    out_cap - written);
            if (r < 0)
                return r;
            written += r;
        }
        memcpy(block + *block_len, msg, len);
        *block_len += len;
    }
    return written;
}

// Write the open block, if any; returns bytes written or an error.
int64_t
msgblock_flush(uint8_t *block, int32_t *block_len, int32_t *seq,
               uint8_t *out, int64_t out_cap)
{
    if (!*block_len)
        return 0;
    return close_block(block, block_len, seq, out, out_cap);
}

/****************************************************************
 * Unpacking blocks into messages
 ****************************************************************/

// Check the block at data[pos] (all of it present): 0 or an error.
static int
check_block(const uint8_t *data, int64_t pos)
{
    int n = data[pos];
    if ((data[pos + 1] & ~MSG_SEQ_MASK) != MSG_DEST)
        return ERR_SEQ;
    if (data[pos + n - 1] != MSG_SYNC)
        return ERR_SYNC;
    uint16_t crc = msgblock_crc16(data + pos, n - 3);
    if (data[pos + n - 3] != crc >> 8 || data[pos + n - 2] != (crc & 0xff))
        return ERR_CRC;
    return 0;
}

// Decode the messages of one payload [start, end) into ints; returns the
// ints used or an error. Per message: id, then per parameter its value
// (unsigned kinds masked to 32 bits), or for a buffer its data offset
// and length. layout_start[id + id_offset] indexes the message's layout:
// its parameter count, then one kind per parameter.
static int64_t
unpack_payload(const uint8_t *data, int64_t start, int64_t end,
               const int8_t *layout, const int32_t *layout_start,
               int32_t id_offset, int32_t n_ids, int64_t *ints, int64_t cap)
{
    int64_t pos = start, used = 0;
    while (pos < end) {
        int64_t msgid;
        if (decode_vlq(data, &pos, end, &msgid))
            return ERR_OVERRUN;
        int64_t idx = msgid + id_offset;
        if (idx < 0 || idx >= n_ids || layout_start[idx] < 0)
            return ERR_UNKNOWN_ID;
        const int8_t *kinds = layout + layout_start[idx];
        int nparams = kinds[0];
        if (used + 1 + 2 * nparams > cap)
            return ERR_OUT_FULL;
        ints[used++] = msgid;
        for (int k = 1; k <= nparams; k++) {
            if (kinds[k] == KIND_BUFFER) {   // length byte, then bytes
                if (pos >= end || pos + 1 + data[pos] > end)
                    return ERR_OVERRUN;
                ints[used++] = pos + 1;
                ints[used++] = data[pos];
                pos += 1 + data[pos];
                continue;
            }
            if (decode_vlq(data, &pos, end, &ints[used]))
                return ERR_OVERRUN;
            if (kinds[k] == KIND_UNSIGNED)   // as the host reads %u %hu %c
                ints[used] &= 0xffffffff;
            used++;
        }
    }
    return used;
}

// Decode the blocks in data[0, len) into ints (see unpack_payload),
// stopping before a block that is incomplete (unless final) or whose
// messages do not fit in ints_cap. Returns the bytes consumed, or a
// negative error with *error_pos at the offending block.
int64_t
msgblock_unpack(const uint8_t *data, int64_t len, int32_t final,
                const int8_t *layout, const int32_t *layout_start,
                int32_t id_offset, int32_t n_ids,
                int64_t *ints, int64_t ints_cap,
                int64_t *n_ints_out, int64_t *error_pos)
{
    int64_t pos = 0, used = 0;
    *n_ints_out = 0;
    while (pos < len) {
        if (data[pos] == MSG_SYNC) {
            pos++;
            continue;
        }
        int n = data[pos];
        *error_pos = pos;
        if (n < MSG_MIN || n > MSG_MAX)
            return ERR_LENGTH;
        if (pos + n > len) {
            if (final)
                return ERR_TRUNCATED;
            break;
        }
        int err = check_block(data, pos);
        if (err)
            return err;
        int64_t r = unpack_payload(data, pos + 2, pos + n - 3, layout,
                                   layout_start, id_offset, n_ids,
                                   ints + used, ints_cap - used);
        if (r == ERR_OUT_FULL && used)
            break;
        if (r < 0)
            return r;
        used += r;
        pos += n;
    }
    *n_ints_out = used;
    return pos;
}
