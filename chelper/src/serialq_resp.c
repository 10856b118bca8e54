/* The responses the serial queue's native program takes (see
 * serialq_resp.h). */
#include <stdlib.h>
#include "msgblock.h"
#include "serialq_resp.h"
#include "xalloc.h"

#define VLQ_MAX_BYTES 5         // chelper/msgblock.py's: a 32-bit value never needs more

/* One VLQ integer at d[*pos] as msgblock.py's decode_vlq reads it; *pos
 * after it, or -1 where decode_vlq fails (past the end, or longer than
 * VLQ_MAX_BYTES: msgblock.c's reader has no such limit, so a payload
 * it reads may be one Python refuses). */
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

/* Room for n more values in r->vals. */
static int64_t *
vals_room(struct serialq_resp *r, int64_t n)
{
    if (r->nvals + n > r->vals_cap) {
        r->vals_cap = 2 * (r->nvals + n) + 64;
        r->vals = xrealloc(r->vals, r->vals_cap * sizeof(int64_t));
    }
    return r->vals + r->nvals;
}

/* The messages of one payload, or -1 if it may not be taken; *clocks
 * gets its clock replies. With `out` (payload at data offset `at`),
 * the decoded values are appended to out->vals: per message its id -
 * id_base, then per parameter its value (an unsigned one masked to 32
 * bits, as msgformat's decode does) or, for a byte string, its data
 * offset and length. */
static int64_t
parse(const struct serialq_resp *r, const uint8_t *d, int64_t len, int64_t *clocks,
      struct serialq_resp *out, int64_t at)
{
    int64_t pos = 0, n = 0;
    *clocks = 0;
    while (pos < len) {
        int64_t id = vlq(d, len, &pos);
        *clocks += id == r->clock_id;
        id -= r->id_base;
        if (pos < 0 || id < 0 || id >= r->nids || r->params[id] < 0)
            return -1;
        int64_t *v = out ? vals_room(out, 1 + 2 * r->params[id]) : NULL, k = 0;
        if (v)
            v[k++] = id;
        for (int8_t i = 0; i < r->params[id]; i++) {
            if (r->buffers[id] >> i & 1) {      // a length byte, then the bytes
                if (pos >= len)
                    return -1;
                if (v) {
                    v[k++] = at + pos + 1;
                    v[k++] = d[pos];
                }
                pos += 1 + d[pos];
                if (pos > len)
                    return -1;
                continue;
            }
            int64_t x = vlq(d, len, &pos);
            if (pos < 0)
                return -1;
            if (v)
                v[k++] = r->unsigneds[id] >> i & 1 ? (int64_t)((uint64_t)x & 0xffffffffu) : x;
        }
        if (out)
            out->nvals += k;
        n++;
    }
    return n;
}

int64_t
serialq_resp_payload(const struct serialq_resp *r, const uint8_t *d, int64_t len)
{
    int64_t clocks, n = parse(r, d, len, &clocks, NULL, 0);
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
        parse(r, rx->data + start, len, &clocks, NULL, 0);
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
serialq_resp_new(const int8_t *params, const uint32_t *buffers, const uint32_t *unsigneds,
                 int32_t nids, int32_t id_base, int32_t clock_id, int64_t byte_ns)
{
    struct serialq_resp *r = xcalloc(1, sizeof(*r));
    r->params = xcalloc(nids ? nids : 1, 1);
    r->buffers = xcalloc(nids ? nids : 1, sizeof(uint32_t));
    r->unsigneds = xcalloc(nids ? nids : 1, sizeof(uint32_t));
    for (int32_t i = 0; i < nids; i++) {
        r->params[i] = params[i];
        r->buffers[i] = buffers[i];
        r->unsigneds[i] = unsigneds[i];
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
    free(r->unsigneds);
    free(r->vals);
    free(r);
}

const struct serialq_resp_out *
serialq_resp_read(struct serialq_resp *r, int32_t which)
{
    struct sq_payloads *p = which ? &r->pending : &r->handed;
    int64_t clocks;
    r->nvals = 0;
    for (int64_t i = 0; i < p->buf.n; i++) {     // (taken: they parse)
        int64_t start = chunkbuf_start(&p->buf, i);
        vals_room(r, 1);
        int64_t at = r->nvals++;            // (the count, once parsed)
        int64_t n = parse(r, p->buf.data + start, p->buf.ends[i] - start, &clocks, r, start);
        r->vals[at] = n;                    // (after parse: it may move vals)
    }
    r->out = (struct serialq_resp_out){p->buf.data, p->buf.ends, p->sent_ns,
                                       p->received_ns, r->vals, r->nvals, p->buf.n};
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
