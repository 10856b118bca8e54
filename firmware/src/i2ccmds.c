/* I2C devices (e.g. pin expanders such as the SX1509, displays, sensors).
 *
 * Contract (docs/MCU_Commands.md, Klipper's i2ccmds): config_i2c makes a
 * device; i2c_set_bus picks a hardware bus (a number of the profile's
 * i2c_bus enumeration, else "Unsupported i2c bus") and the 7-bit address;
 * i2c_set_sw_bus bit-bangs on two pins.  i2c_transfer writes `write`,
 * then reads read_len bytes, and answers i2c_response oid i2c_bus_status
 * response (status 0, SUCCESS).  A transfer before a bus is set is
 * "Unsupported i2c bus".
 *
 * Simulated peripheral: every device acknowledges and reads as 0.
 */
#include <string.h>
#include "fw.h"
#include "board.h"

struct i2cdev {
    uint32_t bus, rate, address, scl_pin, sda_pin;
    uint8_t have_bus;
};

DECL_COMMAND(command_config_i2c, "config_i2c oid=%c");
void command_config_i2c(struct mcu *m, uint32_t *args)
{
    oid_alloc(m, args[0], OT_I2C, sizeof(struct i2cdev));
}

DECL_COMMAND(command_i2c_set_bus, "i2c_set_bus oid=%c i2c_bus=%u rate=%u address=%u");
void command_i2c_set_bus(struct mcu *m, uint32_t *args)
{
    struct i2cdev *d = oid_lookup(m, args[0], OT_I2C);
    if (args[1] >= m->profile->i2c_bus_count)
        shutdown(m, "Unsupported i2c bus");
    d->bus = args[1];
    d->rate = args[2];
    d->address = args[3];
    d->have_bus = 1;
}

DECL_COMMAND(command_i2c_set_sw_bus,
             "i2c_set_sw_bus oid=%c scl_pin=%u sda_pin=%u pulse_ticks=%u address=%u");
void command_i2c_set_sw_bus(struct mcu *m, uint32_t *args)
{
    struct i2cdev *d = oid_lookup(m, args[0], OT_I2C);
    if (!board_pin_valid(m, args[1]) || !board_pin_valid(m, args[2]))
        shutdown(m, "Not a valid pin");
    d->scl_pin = args[1];
    d->sda_pin = args[2];
    d->rate = args[3];
    d->address = args[4];
    d->have_bus = 1;
}

DECL_COMMAND(command_i2c_transfer, "i2c_transfer oid=%c write=%*s read_len=%u");
void command_i2c_transfer(struct mcu *m, uint32_t *args)
{
    struct i2cdev *d = oid_lookup(m, args[0], OT_I2C);
    if (!d->have_bus)
        shutdown(m, "Unsupported i2c bus");
    uint8_t data[MESSAGE_PAYLOAD_MAX] = { 0 };
    uint32_t read_len = args[2] < sizeof(data) ? args[2] : sizeof(data);
    sendf(m, "i2c_response oid=%c i2c_bus_status=%c response=%*s",
          (uint8_t)args[0], 0, (int)read_len, data);
}
