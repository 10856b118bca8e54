#ifndef KLIPSIM_SERIALQ_PROG_H
#define KLIPSIM_SERIALQ_PROG_H
/* The serial queue thread's common wake as a native program
 * (serialq_prog.c); sim/link/serial_link.py's SerialQueue._loop and
 * _commit stay its reference and its fallback.
 *
 * A wake runs in C when the received chunks carry acks only, or
 * payloads of responses `resp` may take (serialq_resp.h: their receive
 * side done at the wake, handed on at the commit with one post of
 * `resp_signal` per message, as on_response posts), and no retransmit
 * is due (no nak came, the RTO has not expired): input, plan, the cost
 * (vs_cost_ns of the same sum). At the burst's end, when each of the
 * plan's blocks carries timed motion or generic messages whose summaries
 * (`gens`, written at enqueue by MessageQueues: the node's struct fw_gen
 * for each, whether it is a get_clock, whether only Python may send it)
 * allow it, and the MCU node's C arrival can take them all
 * (fw_node_can_take), the commit runs in C too (linkio_native_commit,
 * with the get_clock blocks as its query mask), each block to the node
 * (fw_node_deliver_gen, the same C event Python's McuNode.deliver_block
 * schedules), then the next wake and the wait.
 * Otherwise the program hands to Python at a fixed point, before any
 * effect Python would not repeat: `point` 0, the whole wake (a payload
 * resp may not take, or a retransmit due; Python's linkio_input_all /
 * linkio_plan then return what C already read and planned,
 * linkio_hand_back); point 1, the commit of the blocks planned (a plan
 * with a message only Python sends or without a summary, the RTO expired during the burst, or the node
 * can not take them), with the responses pending (serialq_resp_read 1).
 * The blocks C sent keep their data in linkio's ring until
 * Python builds their Blocks (linkio_py_sync).  Python reads
 * planned_wake (NEVER: none) and the counters.
 * The node's functions come as addresses (the firmware is another cffi
 * module): int64_t deliver(node, at_ns, data, len, seq, has_motion,
 * count, low, high, gen, ngen) (fw_node_deliver_gen) and int32_t
 * can_take(node, blocks).
 */
#include <stdint.h>
#include "linkio.h"
#include "serialq_resp.h"
#include "vsched.h"

/* cffi:begin */
/* A generic message's summary (MessageQueues.add writes gens[tag &
 * (SQ_GENS - 1)]): sched, klass, oid, extends as the node's struct
 * fw_gen (firmware/simulator/fw_node.h, the same layout), `key` (the
 * tag + 1: the entry is this message's only when it matches; 0 as
 * allocated, no entry) and SQG_* flags. */
struct sq_gen {
    int64_t sched;
    int32_t klass, oid, extends, key, flags;
};
/* struct fw_gen's layout, as serialq_prog.c hands it to the node */
struct sq_gen_fw {
    int64_t sched;
    int32_t klass, oid, extends;
};
#define SQ_GENS 4096
#define SQ_GEN_MAX 8               /* fw_node.h's FW_GEN_MAX */
#define SQG_QUERY 1                /* a get_clock: its block pairs the reply */
#define SQG_PY 2                   /* only Python's _commit sends it */
#define SQG_NONE 4                 /* the node records nothing for it */
struct serialq_prog {
    struct vs *k;
    int32_t thread, signal, phase, point;
    double speed;
    int64_t wake_ns, block_ns, message_ns;     /* HostCosts' serialq_* */
    struct linkio *l;
    struct linkq *q;
    uint8_t *frames;               /* MessageQueues' plan buffers */
    int64_t *records, *summaries;
    int32_t *tags, *first_seq;
    void *node, *deliver, *can_take;
    int64_t planned_wake;
    int64_t native_wakes, py_wakes, py_commits;   /* wakes in C, handed whole, commits handed */
    struct serialq_resp *resp;     /* the responses taken in C (serialq_resp.h), or NULL */
    int32_t resp_signal;           /* posted once per response handed on (serialhdl's) */
    int64_t native_responses;      /* responses the native wakes took */
    int32_t c_way;                 /* the wake's plan may be committed in C */
    int64_t arrivals[16];
    struct sq_gen *gens;           /* the generic messages' summaries, or NULL */
    int64_t native_gen_commits;    /* native commits with generic messages */
};
struct serialq_prog *serialq_prog_new(void);
void serialq_prog_free(struct serialq_prog *p);
/* Thread t runs the program from its next step; Python's step (the
 * _loop's compute pending, so its _commit) comes first when py_next. */
void serialq_prog_attach(struct serialq_prog *p, int32_t thread, int32_t py_next);
/* cffi:end */

#endif
