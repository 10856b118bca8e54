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
 * (vs_cost_ns of the same sum). At the burst's end, when the plan's
 * blocks carry timed motion only (no generic message, linkq's records
 * alone) which the MCU node's C arrival can all take (fw_node_can_take),
 * the commit runs in C too (linkio_native_commit), each block to the
 * node (fw_node_deliver, the same C event Python's
 * McuNode.deliver_block schedules), then the next wake and the wait.
 * Otherwise the program hands to Python at a fixed point, before any
 * effect Python would not repeat: `point` 0, the whole wake (a payload
 * resp may not take, or a retransmit due; Python's linkio_input_all /
 * linkio_plan then return what C already read and planned,
 * linkio_hand_back); point 1, the commit of the blocks planned (a plan
 * with generic messages, the RTO expired during the burst, or the node
 * can not take them), with the responses pending (serialq_resp_read 1).
 * The blocks C sent keep their data in linkio's ring until
 * Python builds their Blocks (linkio_py_sync).  Python reads
 * planned_wake (NEVER: none) and the counters.
 * The node's functions come as addresses (the firmware is another cffi
 * module): int64_t deliver(node, at_ns, data, len, seq, count, low,
 * high) and int32_t can_take(node, blocks).
 */
#include <stdint.h>
#include "linkio.h"
#include "serialq_resp.h"
#include "vsched.h"

/* cffi:begin */
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
    int32_t motion_only;           /* the wake's plan may go the C way */
    int64_t arrivals[16];
};
struct serialq_prog *serialq_prog_new(void);
void serialq_prog_free(struct serialq_prog *p);
/* Thread t runs the program from its next step; Python's step (the
 * _loop's compute pending, so its _commit) comes first when py_next. */
void serialq_prog_attach(struct serialq_prog *p, int32_t thread, int32_t py_next);
/* cffi:end */

#endif
