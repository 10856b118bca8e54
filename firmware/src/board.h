/* The board interface: everything the firmware needs from hardware.
 *
 * Contract: the firmware calls only these functions to touch time, pins,
 * the ADC and the serial port.  firmware/simulator/board_sim.c implements
 * them on a virtual clock (time advances only between timer callbacks:
 * firmware code runs in zero simulated time).  Interrupt control is a
 * no-op there, so it is not part of this interface.
 */
#ifndef KLIPSIM_BOARD_H
#define KLIPSIM_BOARD_H

#include <stddef.h>
#include <stdint.h>

struct mcu;

/* Low 32 bits of the MCU clock (the firmware's time type). */
uint32_t timer_read_time(struct mcu *m);

/* GPIO.  Pins are numbers from the MCU profile's pin enumeration;
 * board_pin_valid() says whether a number names a pin. */
int board_pin_valid(struct mcu *m, uint32_t pin);
void gpio_out_write(struct mcu *m, uint32_t pin, uint8_t value);
uint8_t gpio_in_read(struct mcu *m, uint32_t pin);
/* A hardware PWM output set to `value` (0..PWM_MAX of the profile). */
void board_pwm_write(struct mcu *m, uint32_t pin, uint32_t value);
/* A step pin's rising edge, with the level of its dir pin (the probe a
 * logic analyser would give; recorded in bulk by the board). */
void board_step_edge(struct mcu *m, uint32_t step_pin, uint8_t dir);

/* ADC: one conversion of `pin`, 0..adc_max. */
uint16_t adc_read(struct mcu *m, uint32_t pin);

/* SPI: exchange `len` bytes on hardware or software bus `bus`; the
 * device's reply replaces data. */
void board_spi_transfer(struct mcu *m, uint32_t bus, uint8_t *data, uint8_t len);

/* Serial: one framed block to send to the host. */
void serial_transmit(struct mcu *m, const uint8_t *block, size_t len);

#endif
