#ifndef KLIPSIM_SERIALQ_RESP_H
#define KLIPSIM_SERIALQ_RESP_H
/* The responses the serial queue's native program (serialq_prog.c)
 * takes in C instead of handing the wake to Python: the received
 * payloads whose every message is a response Python's decode would read
 * (chelper/msgproto.py MessageDictionary.decode: a known response id,
 * its parameters, the payload read exactly to its end) and none of
 * which the serial queue itself must act on when read (trsync_state,
 * the fast reader's). Python's table says which ids: for id - id_base,
 * `params` its parameter count (-1: not taken), `buffers` which of
 * them are byte strings (bit i: parameter i; the others are integers)
 * and `unsigneds` which integers are unsigned (read masked to 32 bits).
 * serialq_resp_read gives the payloads' bytes and their messages
 * decoded (ids and values), for Python to build (name, args) from.
 *
 * A taken payload keeps its bytes, the send time of the get_clock its
 * clock reply answers (linkio_clock_query_sent, paired at the wake as
 * SerialQueue._decode pairs it; 0: none) and its receive time. The
 * wake's payloads are "pending" until its commit hands them on
 * (serialq_resp_commit, in the order SerialQueue._commit calls
 * on_response); Python reads the handed ones (`which` 0) as it
 * needs them, or a commit's pending ones (`which` 1) when the commit
 * itself was handed to Python. */
#include <stdint.h>
#include "chunkbuf.h"
#include "linkio.h"

/* cffi:begin */
struct serialq_resp_out {       // serialq_resp_read's result
    const uint8_t *data;        // the payloads, back to back (chunkbuf ends)
    const int64_t *ends, *sent_ns, *received_ns;
    // the payloads decoded: per payload its message count, then per
    // message its id - id_base and its parameters (parse in serialq_resp.c)
    const int64_t *values;
    int64_t nvalues, n;
};
struct serialq_resp;
struct serialq_resp *serialq_resp_new(const int8_t *params, const uint32_t *buffers,
                                      const uint32_t *unsigneds, int32_t nids,
                                      int32_t id_base, int32_t clock_id, int64_t byte_ns);
void serialq_resp_free(struct serialq_resp *r);
const struct serialq_resp_out *serialq_resp_read(struct serialq_resp *r, int32_t which);
void serialq_resp_clear(struct serialq_resp *r, int32_t which);
int64_t serialq_resp_handed(struct serialq_resp *r);
/* One payload's messages if the program may take it, else -1 (a
 * payload Python must decode, or carrying two clock replies). */
int64_t serialq_resp_payload(const struct serialq_resp *r, const uint8_t *d, int64_t len);
/* The native program's calls (public for the tests): */
/* The messages of every payload of rx, if all may be taken; -1 if any
 * may not (no side effect either way). */
int64_t serialq_resp_check(const struct serialq_resp *r, const struct linkio_rx *rx);
/* Take rx's payloads (checked) at `now`: pair the clock replies, keep
 * them pending. */
void serialq_resp_take(struct serialq_resp *r, struct linkio *l, const struct linkio_rx *rx,
                       int64_t now, int64_t messages);
/* The commit hands the pending payloads on; returns their messages. */
int64_t serialq_resp_commit(struct serialq_resp *r);
/* cffi:end */

struct sq_payloads {            // payloads with their clock-pairing times
    struct chunkbuf buf;
    int64_t *sent_ns, *received_ns, cap;
};

struct serialq_resp {
    int8_t *params;             // id - id_base -> parameters, -1: not taken
    uint32_t *buffers;          // id - id_base -> its byte-string parameters
    uint32_t *unsigneds;        // id - id_base -> its unsigned integer parameters
    int64_t *vals, nvals, vals_cap;   // serialq_resp_read's decoded values
    int32_t nids, id_base, clock_id;
    int64_t byte_ns;            // the wire's byte time (receive time of a reply)
    int64_t pending_messages;   // messages of the pending payloads
    struct sq_payloads pending, handed;
    struct serialq_resp_out out;
};


#endif
