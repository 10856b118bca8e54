/* Buttons: periodic sampling of up to 8 input pins, reported on change.
 *
 * Contract (docs/MCU_Commands.md, Klipper's buttons module):
 * config_buttons oid button_count (at most 8, else "Max of 8 buttons");
 * buttons_add puts a pin at position pos (< button_count, else "Set
 * button past maximum button count").  buttons_query samples every pin
 * every rest_ticks from `clock` on (rest_ticks 0 stops), the state byte
 * being bit pos = pin level XOR bit pos of `invert`.  A state that
 * differs from the last one recorded and reads the same on two samples
 * in a row (debounce) is recorded; unacknowledged records are sent as
 * buttons_state oid ack_count state (ack_count: the records acknowledged
 * so far, modulo 256; state: the records in order) and re-sent every
 * retransmit_count samples until buttons_ack oid count acknowledges
 * `count` of them.  retransmit_count 0 is "Invalid buttons retransmit
 * count".  At most 16 records wait; more are dropped.
 *
 * Simulated peripheral: pins read the board's input levels.
 */
#include <string.h>
#include "fw.h"
#include "board.h"

#define BUTTONS_MAX 8
#define RECORDS_MAX 16

struct buttons {
    struct timer time;
    uint32_t pins[BUTTONS_MAX];
    uint32_t rest_ticks;
    uint8_t oid, count, invert, retransmit, samples_to_resend;
    uint8_t last_state, pending_state, ack_count, record_len;
    uint8_t records[RECORDS_MAX];
};

static uint8_t buttons_sample(struct mcu *m, struct buttons *b)
{
    uint8_t state = 0;
    for (int i = 0; i < b->count; i++)
        state |= (gpio_in_read(m, b->pins[i]) ? 1 : 0) << i;
    return state ^ b->invert;
}

static void buttons_report(struct mcu *m, struct buttons *b)
{
    b->samples_to_resend = b->retransmit;
    sendf(m, "buttons_state oid=%c ack_count=%c state=%*s", b->oid,
          b->ack_count, (int)b->record_len, b->records);
}

static uint_fast8_t buttons_event(struct mcu *m, struct timer *t)
{
    struct buttons *b = (struct buttons *)t;
    uint8_t state = buttons_sample(m, b);
    t->waketime += b->rest_ticks;
    if (state != b->last_state && state == b->pending_state) {
        b->last_state = state;
        if (b->record_len < RECORDS_MAX)
            b->records[b->record_len++] = state;
        buttons_report(m, b);
        return SF_RESCHEDULE;
    }
    b->pending_state = state;
    if (b->record_len && !--b->samples_to_resend)
        buttons_report(m, b);
    return SF_RESCHEDULE;
}

DECL_COMMAND(command_config_buttons, "config_buttons oid=%c button_count=%c");
void command_config_buttons(struct mcu *m, uint32_t *args)
{
    if (args[1] > BUTTONS_MAX)
        shutdown(m, "Max of 8 buttons");
    struct buttons *b = oid_alloc(m, args[0], OT_BUTTONS, sizeof(*b));
    b->oid = args[0];
    b->count = args[1];
    b->time.func = buttons_event;
}

DECL_COMMAND(command_buttons_add, "buttons_add oid=%c pos=%c pin=%u pull_up=%c");
void command_buttons_add(struct mcu *m, uint32_t *args)
{
    struct buttons *b = oid_lookup(m, args[0], OT_BUTTONS);
    if (args[1] >= b->count)
        shutdown(m, "Set button past maximum button count");
    if (!board_pin_valid(m, args[2]))
        shutdown(m, "Not a valid pin");
    b->pins[args[1]] = args[2];
}

DECL_COMMAND(command_buttons_query,
             "buttons_query oid=%c clock=%u rest_ticks=%u retransmit_count=%c"
             " invert=%c");
void command_buttons_query(struct mcu *m, uint32_t *args)
{
    struct buttons *b = oid_lookup(m, args[0], OT_BUTTONS);
    sched_del_timer(m, &b->time);
    b->rest_ticks = args[2];
    b->retransmit = args[3];
    b->invert = args[4];
    if (!b->rest_ticks)
        return;
    if (!b->retransmit)
        shutdown(m, "Invalid buttons retransmit count");
    b->last_state = b->pending_state = 0;
    b->time.waketime = args[1];
    sched_add_timer(m, &b->time);
}

DECL_COMMAND(command_buttons_ack, "buttons_ack oid=%c count=%c");
void command_buttons_ack(struct mcu *m, uint32_t *args)
{
    struct buttons *b = oid_lookup(m, args[0], OT_BUTTONS);
    uint8_t count = args[1] < b->record_len ? args[1] : b->record_len;
    b->ack_count += count;
    b->record_len -= count;
    memmove(b->records, b->records + count, b->record_len);
}
