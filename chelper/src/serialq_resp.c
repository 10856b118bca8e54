/* The responses the serial queue's native program takes (see
 * serialq_resp.h). */
#include <stdlib.h>
#include "msgblock.h"
#include "serialq_resp.h"
#include "xalloc.h"

#define VLQ_MAX_BYTES 5         // chelper/msgblock.py's: a 32-bit value never needs more

/* One VLQ integer at d[*pos] as msgblock.decode_vlq reads it; *pos
 * after it, or -1 where decode_vlq fails (past the end, too long). */
static int64_t
vlq(const uint8_t *d, int64_t len, int64_t *pos)
{
    int64_t start = *pos, at = start;
    if (at >= len) {
        *pos = -1;
        return 0;
    }
    uint8_t c = d[at++];
    uint64_t v = c & 0x7f;
    if ((c & 0x60) == 0x60)
        v |= ~(uint64_t)0x1f;           // negative: sign extended from bit 5
    while (c & 0x80) {
        if (at >= len) {
            *pos = -1;
            return 0;
        }
        c = d[at++];
        v = (v << 7) | (c & 0x7f);
        if (at - start > VLQ_MAX_BYTES) {
            *pos = -1;
            return 0;
        }
    }
    *pos = at;
    return (int64_t)v;
}

/* The messages of one payload, or -1 if it may not be taken; *clocks
 * gets its clock replies. */
static int64_t
payload_messages(const struct serialq_resp *r, const uint8_t *d, int64_t len,
                 int64_t *clocks)
{
    int64_t pos = 0, n = 0;
    *clocks = 0;
    while (pos < len) {
        int64_t id = vlq(d, len, &pos);
        *clocks += id == r->clock_id;
        id -= r->id_base;
        if (pos < 0 || id < 0 || id >= r->nids || r->params[id] < 0)
            return -1;
        for (int8_t i = 0; i < r->params[id]; i++) {
            if (r->buffers[id] >> i & 1) {      // a length byte, then the bytes
                if (pos >= len)
                    return -1;
                pos += 1 + d[pos];
                if (pos > len)
                    return -1;
                continue;
            }
            vlq(d, len, &pos);
            if (pos < 0)
                return -1;
        }
        n++;
    }
    return n;
}

int64_t
serialq_resp_payload(const struct serialq_resp *r, const uint8_t *d, int64_t len)
{
    int64_t clocks, n = payload_messages(r, d, len, &clocks);
    return clocks > 1 ? -1 : n;         // (one pairing time per payload kept)
}

int64_t
serialq_resp_check(const struct serialq_resp *r, const struct linkio_rx *rx)
{
    int64_t total = 0;
    for (int64_t i = 0; i < rx->n; i++) {
        int64_t start = i ? rx->ends[i - 1] : 0;
        int64_t n = serialq_resp_payload(r, rx->data + start, rx->ends[i] - start);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

static void
payloads_add(struct sq_payloads *p, const uint8_t *data, int64_t len, int64_t sent,
             int64_t received)
{
    int64_t k = chunkbuf_add(&p->buf, data, len);
    if (p->buf.ncap > p->cap) {
        p->cap = p->buf.ncap;
        p->sent_ns = xrealloc(p->sent_ns, p->cap * sizeof(int64_t));
        p->received_ns = xrealloc(p->received_ns, p->cap * sizeof(int64_t));
    }
    p->sent_ns[k] = sent;
    p->received_ns[k] = received;
}

void
serialq_resp_take(struct serialq_resp *r, struct linkio *l, const struct linkio_rx *rx,
                  int64_t now, int64_t messages)
{
    for (int64_t i = 0; i < rx->n; i++) {
        int64_t start = i ? rx->ends[i - 1] : 0, len = rx->ends[i] - start, clocks;
        payload_messages(r, rx->data + start, len, &clocks);
        int64_t sent = clocks ? linkio_clock_query_sent(l, rx->snaps[i]) : 0;
        // (SerialQueue._decode: read time less the block's wire time)
        int64_t received = sent ? now - (len + MSG_MIN) * r->byte_ns : 0;
        payloads_add(&r->pending, rx->data + start, len, sent, received);
    }
    r->pending_messages += messages;
}

int64_t
serialq_resp_commit(struct serialq_resp *r)
{
    struct sq_payloads *p = &r->pending;
    for (int64_t i = 0; i < p->buf.n; i++) {
        int64_t start = chunkbuf_start(&p->buf, i);
        payloads_add(&r->handed, p->buf.data + start, p->buf.ends[i] - start,
                     p->sent_ns[i], p->received_ns[i]);
    }
    int64_t messages = r->pending_messages;
    serialq_resp_clear(r, 1);
    return messages;
}

struct serialq_resp *
serialq_resp_new(const int8_t *params, const uint32_t *buffers, int32_t nids,
                 int32_t id_base, int32_t clock_id, int64_t byte_ns)
{
    struct serialq_resp *r = xcalloc(1, sizeof(*r));
    r->params = xcalloc(nids ? nids : 1, 1);
    r->buffers = xcalloc(nids ? nids : 1, sizeof(uint32_t));
    for (int32_t i = 0; i < nids; i++) {
        r->params[i] = params[i];
        r->buffers[i] = buffers[i];
    }
    r->nids = nids;
    r->id_base = id_base;
    r->clock_id = clock_id;
    r->byte_ns = byte_ns;
    return r;
}

static void
payloads_free(struct sq_payloads *p)
{
    chunkbuf_free(&p->buf);
    free(p->sent_ns);
    free(p->received_ns);
}

void
serialq_resp_free(struct serialq_resp *r)
{
    payloads_free(&r->pending);
    payloads_free(&r->handed);
    free(r->params);
    free(r->buffers);
    free(r);
}

const struct serialq_resp_out *
serialq_resp_read(struct serialq_resp *r, int32_t which)
{
    struct sq_payloads *p = which ? &r->pending : &r->handed;
    r->out = (struct serialq_resp_out){p->buf.data, p->buf.ends, p->sent_ns,
                                       p->received_ns, p->buf.n};
    return &r->out;
}

void
serialq_resp_clear(struct serialq_resp *r, int32_t which)
{
    chunkbuf_clear(which ? &r->pending.buf : &r->handed.buf);
    if (which)
        r->pending_messages = 0;
}

int64_t
serialq_resp_handed(struct serialq_resp *r)
{
    return r->handed.buf.n;
}
