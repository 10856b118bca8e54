/* TMC stepper-driver UART (one wire, or separate rx/tx pins).
 *
 * Contract (docs/MCU_Commands.md, Klipper's tmcuart module):
 * config_tmcuart sets up a bit-banged UART on rx_pin/tx_pin at bit_time
 * ticks per bit (the tx line idles high).  tmcuart_send writes `write`
 * (at most 10 bytes, else "tmcuart data too large") and then reads `read`
 * bytes; once the transfer is over it answers tmcuart_response oid read
 * (empty for a write).  A byte is 10 bit times (start, 8 data, stop), so
 * the answer comes (len(write) + read) * 10 * bit_time ticks later.  A
 * send while a transfer is running is dropped (Klipper's host waits for
 * each answer before it sends again).
 *
 * Simulated peripheral: the driver answers a read with zero bytes of
 * data (a register value of 0, as Klipper's own batch mode reads).
 */
#include "fw.h"
#include "board.h"

#define TMCUART_MAX_DATA 10
#define BITS_PER_BYTE 10

struct tmcuart {
    struct timer time;
    uint32_t rx_pin, tx_pin, bit_time;
    uint8_t oid, busy, read_len;
};

static uint_fast8_t tmcuart_event(struct mcu *m, struct timer *tm)
{
    struct tmcuart *u = (struct tmcuart *)tm;
    uint8_t data[TMCUART_MAX_DATA] = { 0 };
    u->busy = 0;
    gpio_out_write(m, u->tx_pin, 1);
    sendf(m, "tmcuart_response oid=%c read=%*s", u->oid, (int)u->read_len, data);
    return SF_DONE;
}

DECL_COMMAND(command_config_tmcuart,
             "config_tmcuart oid=%c rx_pin=%u pull_up=%c tx_pin=%u bit_time=%u");
void command_config_tmcuart(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]) || !board_pin_valid(m, args[3]))
        shutdown(m, "Not a valid pin");
    struct tmcuart *u = oid_alloc(m, args[0], OT_TMCUART, sizeof(*u));
    u->oid = args[0];
    u->rx_pin = args[1];
    u->tx_pin = args[3];
    u->bit_time = args[4];
    u->time.func = tmcuart_event;
    gpio_out_write(m, u->tx_pin, 1);
}

DECL_COMMAND(command_tmcuart_send, "tmcuart_send oid=%c write=%*s read=%c");
void command_tmcuart_send(struct mcu *m, uint32_t *args)
{
    struct tmcuart *u = oid_lookup(m, args[0], OT_TMCUART);
    uint8_t write_len = args[1], read_len = args[2];
    if (write_len > TMCUART_MAX_DATA || read_len > TMCUART_MAX_DATA)
        shutdown(m, "tmcuart data too large");
    if (u->busy)
        return;
    u->busy = 1;
    u->read_len = read_len;
    u->time.waketime = timer_read_time(m) + (uint32_t)(write_len + read_len) * BITS_PER_BYTE
        * u->bit_time;
    sched_add_timer(m, &u->time);
}
