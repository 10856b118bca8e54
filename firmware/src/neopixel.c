/* Neopixel (WS2812-style) LED chains on one data pin.
 *
 * Contract (docs/MCU_Commands.md, Klipper's neopixel module):
 * config_neopixel oid pin data_size bit_max_ticks reset_min_ticks keeps
 * data_size bytes of colour data (at most NEOPIXEL_MAX_DATA, else
 * "Invalid neopixel data_size"); neopixel_update oid pos data writes
 * data at pos (past the end: "Invalid neopixel update command");
 * neopixel_send oid transmits the whole buffer and answers
 * neopixel_result oid success.
 *
 * Simulated peripheral: the transmission always succeeds (success=1) and
 * takes no simulated time; the data line's bits are not recorded.
 */
#include <string.h>
#include "fw.h"
#include "board.h"

#define NEOPIXEL_MAX_DATA 1024

struct neopixel {
    uint32_t pin, bit_max_ticks, reset_min_ticks;
    uint16_t data_size;
    uint8_t data[NEOPIXEL_MAX_DATA];
};

DECL_COMMAND(command_config_neopixel,
             "config_neopixel oid=%c pin=%u data_size=%hu bit_max_ticks=%u"
             " reset_min_ticks=%u");
void command_config_neopixel(struct mcu *m, uint32_t *args)
{
    if (!board_pin_valid(m, args[1]))
        shutdown(m, "Not a valid pin");
    if (args[2] > NEOPIXEL_MAX_DATA)
        shutdown(m, "Invalid neopixel data_size");
    struct neopixel *n = oid_alloc(m, args[0], OT_NEOPIXEL, sizeof(*n));
    n->pin = args[1];
    n->data_size = args[2];
    n->bit_max_ticks = args[3];
    n->reset_min_ticks = args[4];
    gpio_out_write(m, n->pin, 0);
}

DECL_COMMAND(command_neopixel_update, "neopixel_update oid=%c pos=%hu data=%*s");
void command_neopixel_update(struct mcu *m, uint32_t *args)
{
    struct neopixel *n = oid_lookup(m, args[0], OT_NEOPIXEL);
    uint32_t pos = args[1], len = args[2];
    if (pos + len > n->data_size)
        shutdown(m, "Invalid neopixel update command");
    memcpy(&n->data[pos], m->arg_data, len);
}

DECL_COMMAND(command_neopixel_send, "neopixel_send oid=%c");
void command_neopixel_send(struct mcu *m, uint32_t *args)
{
    oid_lookup(m, args[0], OT_NEOPIXEL);
    sendf(m, "neopixel_result oid=%c success=%c", (uint8_t)args[0], 1);
}
