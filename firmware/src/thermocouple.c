/* Thermocouple / RTD converter chips read over SPI.
 *
 * Contract (docs/MCU_Commands.md, Klipper's thermocouple module):
 * config_thermocouple ties a reader to an SPI device and a chip type
 * (the thermocouple_type enumeration: MAX31855 0, MAX31856 1, MAX31865 2,
 * MAX6675 3; anything else is "Invalid thermocouple chip type").
 * query_thermocouple starts, from `clock` on, a reading every rest_ticks
 * (rest_ticks 0 stops them): each reading is reported as
 * thermocouple_result oid next_clock value fault, with next_clock the
 * next reading's time; a value outside [min_value, max_value]
 * max_invalid_count times in a row shuts down with "Thermocouple reader
 * fault" (a good reading resets the count).
 *
 * Simulated peripheral: the chip is read over its SPI device (chip select
 * toggled), and reads a fixed value, the middle of the host's
 * [min_value, max_value] (a steady temperature inside the sensor's
 * configured range), with no fault bits.
 */
#include "fw.h"
#include "board.h"

enum { TC_MAX31855, TC_MAX31856, TC_MAX31865, TC_MAX6675, TC_TYPES };

/* bytes a reading clocks over the bus: the register address (MAX31856,
 * MAX31865) plus the data */
static const uint8_t read_bytes[TC_TYPES] = { 4, 4, 3, 2 };

struct thermocouple {
    struct timer time;
    struct spidev *spi;
    uint32_t rest_ticks, min_value, max_value;
    uint8_t oid, chip_type, max_invalid, invalid_count;
};

static uint32_t thermocouple_read(struct mcu *m, struct thermocouple *t)
{
    uint8_t data[4] = { 0 };
    spidev_transfer(m, t->spi, 1, data, read_bytes[t->chip_type]);
    return t->min_value + (t->max_value - t->min_value) / 2;
}

static uint_fast8_t thermocouple_event(struct mcu *m, struct timer *tm)
{
    struct thermocouple *t = (struct thermocouple *)tm;
    uint32_t value = thermocouple_read(m, t);
    if (value < t->min_value || value > t->max_value) {
        if (++t->invalid_count >= t->max_invalid)
            try_shutdown(m, "Thermocouple reader fault");
    } else {
        t->invalid_count = 0;
    }
    tm->waketime += t->rest_ticks;
    sendf(m, "thermocouple_result oid=%c next_clock=%u value=%u fault=%c",
          t->oid, tm->waketime, value, 0);
    return SF_RESCHEDULE;
}

DECL_COMMAND(command_config_thermocouple,
             "config_thermocouple oid=%c spi_oid=%c thermocouple_type=%c");
void command_config_thermocouple(struct mcu *m, uint32_t *args)
{
    if (args[2] >= TC_TYPES)
        shutdown(m, "Invalid thermocouple chip type");
    struct thermocouple *t = oid_alloc(m, args[0], OT_THERMOCOUPLE, sizeof(*t));
    t->oid = args[0];
    t->spi = spidev_lookup(m, args[1]);
    t->chip_type = args[2];
    t->time.func = thermocouple_event;
}

DECL_COMMAND(command_query_thermocouple,
             "query_thermocouple oid=%c clock=%u rest_ticks=%u min_value=%u"
             " max_value=%u max_invalid_count=%c");
void command_query_thermocouple(struct mcu *m, uint32_t *args)
{
    struct thermocouple *t = oid_lookup(m, args[0], OT_THERMOCOUPLE);
    sched_del_timer(m, &t->time);
    t->rest_ticks = args[2];
    if (!t->rest_ticks)
        return;
    t->min_value = args[3];
    t->max_value = args[4];
    t->max_invalid = args[5];
    t->invalid_count = 0;
    t->time.waketime = args[1];
    sched_add_timer(m, &t->time);
}
