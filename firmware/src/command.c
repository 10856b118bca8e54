/* Command framing, parameter decoding, dispatch and response encoding.
 *
 * Contract (Klipper's wire protocol, docs/Protocol.md, KLIPPER-FACTS 3.3
 * and 4): a block is len(1) seq(1) payload crc16(2, big-endian) sync(0x7e);
 * len counts the whole block, 5..64; the seq byte is 0x10 | sequence.
 * A block with a bad length, seq marker, sync byte or CRC is discarded up
 * to the next sync byte and answered with one nak (repeated naks are
 * suppressed until a good block arrives); a stray leading sync byte is
 * skipped silently.  A good block with an unexpected sequence (e.g. a
 * duplicate) is discarded and answered with a nak.  A good block in order
 * advances the sequence, every command in it is dispatched, then an ack
 * is sent.  Ack and nak are both empty blocks carrying the next expected
 * sequence.  Integers are VLQ-encoded; a buffer parameter (%*s) is one
 * length byte followed by the raw bytes (a handler finds them in
 * m->arg_data; a command has at most one buffer).
 */
#include <stdarg.h>
#include <string.h>
#include "fw.h"
#include "board.h"

/* CRC-16/CCITT in its reflected form (polynomial 0x8408, init 0xffff, no
 * final xor; the "MCRF4XX" variant, check value 0x6f91), which is the
 * checksum Klipper's blocks carry.  Sent high byte first. */
uint16_t crc16_ccitt(const uint8_t *buf, size_t len)
{
    uint16_t crc = 0xffff;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x8408 : crc >> 1;
    }
    return crc;
}

uint16_t static_string_id(const char *str)
{
    for (int i = 0; i < fw_static_string_count; i++)
        if (strcmp(fw_static_strings[i], str) == 0)
            return (uint16_t)i;
    return 0;  /* dictgen collects every literal, so this does not happen */
}

/* ---- VLQ ---- */

/* Byte count by signed range (KLIPPER-FACTS 4), then 7-bit groups,
 * most significant first, continuation bit 0x80 on all but the last. */
uint8_t *command_encode_vlq(uint8_t *p, uint32_t v)
{
    int32_t sv = (int32_t)v;
    if (sv < (3L << 5) && sv >= -(1L << 5)) goto f4;
    if (sv < (3L << 12) && sv >= -(1L << 12)) goto f3;
    if (sv < (3L << 19) && sv >= -(1L << 19)) goto f2;
    if (sv < (3L << 26) && sv >= -(1L << 26)) goto f1;
    *p++ = (v >> 28) | 0x80;
f1: *p++ = ((v >> 21) & 0x7f) | 0x80;
f2: *p++ = ((v >> 14) & 0x7f) | 0x80;
f3: *p++ = ((v >> 7) & 0x7f) | 0x80;
f4: *p++ = v & 0x7f;
    return p;
}

/* Returns NULL if the value runs past `end`. */
static const uint8_t *decode_vlq(const uint8_t *p, const uint8_t *end,
                                 uint32_t *out)
{
    if (p >= end)
        return NULL;
    uint8_t c = *p++;
    uint32_t v = c & 0x7f;
    if ((c & 0x60) == 0x60)
        v |= (uint32_t)-0x20;
    while (c & 0x80) {
        if (p >= end)
            return NULL;
        c = *p++;
        v = (v << 7) | (c & 0x7f);
    }
    *out = v;
    return p;
}

/* ---- responses ---- */

size_t command_frame_block(uint8_t *block, const uint8_t *payload, size_t plen,
                           uint8_t seq)
{
    size_t len = plen + MESSAGE_MIN;
    block[0] = (uint8_t)len;
    block[1] = MESSAGE_DEST | (seq & MESSAGE_SEQ_MASK);
    if (plen)
        memcpy(&block[2], payload, plen);
    uint16_t crc = crc16_ccitt(block, len - MESSAGE_TRAILER_SIZE);
    block[len - 3] = crc >> 8;
    block[len - 2] = crc & 0xff;
    block[len - 1] = MESSAGE_SYNC;
    return len;
}

static void transmit_block(struct mcu *m, const uint8_t *payload, size_t plen)
{
    uint8_t block[MESSAGE_MAX];
    size_t len = command_frame_block(block, payload, plen, m->next_sequence);
    serial_transmit(m, block, len);
}

static const struct response_entry *find_response(const char *fmt)
{
    for (int i = 0; i < fw_response_count; i++)
        if (strcmp(fw_responses[i].format, fmt) == 0)
            return &fw_responses[i];
    return NULL;
}

void command_sendf(struct mcu *m, const char *fmt, ...)
{
    const struct response_entry *r = find_response(fmt);
    if (!r) {
        try_shutdown(m, "Message encode error");
        return;
    }
    uint8_t payload[MESSAGE_PAYLOAD_MAX + 8], *p = payload;
    uint8_t *limit = payload + MESSAGE_PAYLOAD_MAX;
    p = command_encode_vlq(p, r->msgid);
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; i < r->num_params; i++) {
        uint8_t t = r->param_types[i];
        if (t == PT_progmem_buffer || t == PT_buffer || t == PT_string) {
            const uint8_t *s;
            uint32_t n;
            if (t == PT_string) {
                s = va_arg(ap, const uint8_t *);
                n = strlen((const char *)s);
            } else {
                n = va_arg(ap, int);
                s = va_arg(ap, const uint8_t *);
            }
            if (p + 1 + n > limit)
                goto error;
            *p++ = (uint8_t)n;
            memcpy(p, s, n);
            p += n;
        } else {
            uint32_t v = va_arg(ap, uint32_t);
            if (t == PT_uint16 || t == PT_int16)
                v = t == PT_int16 ? (uint32_t)(int32_t)(int16_t)v
                                  : (uint16_t)v;
            else if (t == PT_byte)
                v = (uint8_t)v;
            p = command_encode_vlq(p, v);
            if (p > limit)
                goto error;
        }
    }
    va_end(ap);
    transmit_block(m, payload, p - payload);
    return;
error:
    va_end(ap);
    try_shutdown(m, "Message encode error");
}

/* ---- dispatch ---- */

static void dispatch_payload(struct mcu *m, const uint8_t *p,
                             const uint8_t *end)
{
    uint32_t args[MAX_PARAMS];
    while (p < end) {
        uint32_t msgid;
        p = decode_vlq(p, end, &msgid);
        if (!p)
            shutdown(m, "Command parser error");
        const struct command_entry *ce = msgid < MSGID_TABLE_SIZE
            ? fw_command_by_id[msgid] : NULL;
        if (!ce)
            shutdown(m, "Invalid command");
        for (int i = 0; i < ce->num_params; i++) {
            if (ce->param_types[i] == PT_buffer) {
                /* a buffer is one length byte, then that many raw bytes;
                 * the argument is the length, the bytes are in arg_data */
                if (p >= end || *p > (uint32_t)(end - p - 1))
                    shutdown(m, "Command parser error");
                args[i] = *p++;
                m->arg_data = p;
                p += args[i];
                continue;
            }
            p = decode_vlq(p, end, &args[i]);
            if (!p)
                shutdown(m, "Command parser error");
        }
        if (sched_is_shutdown(m) && !(ce->flags & HF_IN_SHUTDOWN)) {
            sendf(m, "is_shutdown static_string_id=%hu", m->shutdown_reason);
            continue;
        }
        ce->func(m, args);
    }
}

/* Dispatch one in-order block; a shutdown raised by a command ends the
 * block (the rest of it is dropped) but the block is still acked. */
static void dispatch_block(struct mcu *m, const uint8_t *payload, size_t len)
{
    jmp_buf jb, *outer = m->shutdown_jmp;
    m->shutdown_jmp = &jb;
    if (setjmp(jb) == 0)
        dispatch_payload(m, payload, payload + len);
    else
        sched_run_shutdown(m);
    m->shutdown_jmp = outer;
}

static void send_ack(struct mcu *m)
{
    transmit_block(m, NULL, 0);
}

static void rx_drop(struct mcu *m, size_t n)
{
    memmove(m->rx_buf, m->rx_buf + n, m->rx_len - n);
    m->rx_len -= n;
}

/* Discard through the next sync byte (or everything, remembering that a
 * sync byte is still owed); nak once per run of bad data. */
static void rx_discard_bad(struct mcu *m)
{
    uint8_t *sync = memchr(m->rx_buf + 1, MESSAGE_SYNC, m->rx_len - 1);
    if (sync) {
        rx_drop(m, sync + 1 - m->rx_buf);
    } else {
        m->rx_len = 0;
        m->need_sync = 1;
    }
    if (!m->need_valid) {
        m->need_valid = 1;
        send_ack(m);
    }
}

/* Returns 0 when more bytes are needed. */
static int process_one(struct mcu *m)
{
    uint8_t *b = m->rx_buf;
    if (m->need_sync) {
        uint8_t *sync = memchr(b, MESSAGE_SYNC, m->rx_len);
        if (!sync) {
            m->rx_len = 0;
            return 0;
        }
        m->need_sync = 0;
        rx_drop(m, sync + 1 - b);
        return 1;
    }
    if (b[0] == MESSAGE_SYNC) {
        rx_drop(m, 1);
        return 1;
    }
    size_t len = b[0];
    if (len < MESSAGE_MIN || len > MESSAGE_MAX) {
        rx_discard_bad(m);
        return 1;
    }
    if (m->rx_len < len)
        return 0;
    uint16_t crc = crc16_ccitt(b, len - MESSAGE_TRAILER_SIZE);
    if ((b[1] & ~MESSAGE_SEQ_MASK) != MESSAGE_DEST
        || b[len - 1] != MESSAGE_SYNC
        || b[len - 3] != (crc >> 8) || b[len - 2] != (crc & 0xff)) {
        rx_discard_bad(m);
        return 1;
    }
    m->need_valid = 0;
    if ((b[1] & MESSAGE_SEQ_MASK) != m->next_sequence) {
        rx_drop(m, len);
        send_ack(m);   /* a nak: it names the sequence we still expect */
        return 1;
    }
    m->next_sequence = (m->next_sequence + 1) & MESSAGE_SEQ_MASK;
    uint8_t payload[MESSAGE_PAYLOAD_MAX];
    size_t plen = len - MESSAGE_MIN;
    memcpy(payload, b + MESSAGE_HEADER_SIZE, plen);
    rx_drop(m, len);
    dispatch_block(m, payload, plen);
    send_ack(m);
    return 1;
}

/* With a UART buffer (rx_limit), a burst is one interrupt-driven fill
 * before the command task runs: what does not fit is lost (the host's
 * receive window keeps that from happening).  A sync byte reaching an
 * empty buffer is skipped at once, as the parser would skip it anyway.
 * Without a limit the transport holds the rest until the parser made
 * room. */
static size_t rx_take(struct mcu *m, const uint8_t *data, size_t len)
{
    if (m->rx_limit && !m->rx_len && len && data[0] == MESSAGE_SYNC && !m->need_sync)
        return 1;
    size_t limit = m->rx_limit ? m->rx_limit : sizeof(m->rx_buf);
    size_t room = limit - m->rx_len;
    size_t n = len < room ? len : room;
    memcpy(m->rx_buf + m->rx_len, data, n);
    m->rx_len += n;
    if (m->rx_limit && n < len) {
        m->rx_overflow += len - n;
        return len;
    }
    return n;
}

void command_receive(struct mcu *m, const uint8_t *data, size_t len)
{
    while (len) {
        size_t n = rx_take(m, data, len);
        data += n;
        len -= n;
        while (m->rx_len && process_one(m))
            ;
    }
}
