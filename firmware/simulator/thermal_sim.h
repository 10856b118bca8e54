/* The heaters' thermal plants of sim/mcus/thermal.py, integrated in C.
 *
 * Contract: one `struct fw_thermal` per Thermals (one per firmware),
 * holding a `struct fw_plant` per heater (parameters and state set from
 * Python's HeaterPlant, which stays the reference model:
 * tests/test_thermal_c.py).  fw_thermal_take_events moves the heater
 * pins' recorded writes (fw_gpio_events_take; other pins' are dropped)
 * onto its pending queue; fw_thermal_settle(point) takes them, applies
 * those at or before `point` in clock order (fw_plant_pin_level) and
 * brings every plant to `point` (fw_plant_step_to), as Thermals.settle
 * did in Python.  Same floating-point operations in the same order as
 * HeaterPlant and host/thermistor.py (the build has no contraction, no
 * fast math, and calls the same libm), so the temperatures and ADC values
 * are the same.  The update chain's state (Thermals.next_due, point,
 * version, settled) lives here too: the MCU node's C events read and move
 * it (fw_node.c), Thermals' properties read it.
 */
#ifndef KLIPSIM_THERMAL_SIM_H
#define KLIPSIM_THERMAL_SIM_H

#include <stddef.h>
#include <stdint.h>

/* cffi:begin */
struct fw_plant {
    uint32_t heater_pin, sensor_pin;
    int64_t invert;                 /* 0 or 1: power = level ^ invert */
    double gain, tau, freq;         /* PlantKind.gain, .tau; clock_freq */
    double temp, max_temp;
    int64_t power;
    uint64_t clock;                 /* integrated up to this MCU clock */
    /* the sensor: a thermistor (host/thermistor.py Thermistor) read
     * through adc_max; c_adc 0: another kind, Python sets its ADC value */
    int32_t c_adc;
    double c1, c2, c3, pullup, inline_resistor;
    int64_t adc_max;
};
struct fw_thermal {
    struct mcu *fw;
    struct fw_plant *plants;
    size_t nplants;
    struct fw_gpio_event *pending;  /* [head, len): heater writes not applied */
    size_t head, len, cap;
    /* Thermals' update chain: period (ticks), next_due, the last update
     * point and the point the plants were settled at (has_*: not None),
     * version (counts their changes); py_adc: a plant without c_adc */
    int64_t period, next_due, point, settled_at, version;
    int32_t has_point, has_settled, py_adc;
};
struct fw_thermal *fw_thermal_new(struct mcu *m, size_t nplants);
void fw_thermal_free(struct fw_thermal *t);
void fw_thermal_take_events(struct fw_thermal *t);
void fw_thermal_settle(struct fw_thermal *t, uint64_t point);
void fw_plant_step_to(struct fw_plant *p, uint64_t clock);
void fw_plant_pin_level(struct fw_plant *p, uint64_t clock, uint32_t level);
/* HeaterPlant.adc_value (c_adc plants). */
int64_t fw_plant_adc_value(const struct fw_plant *p);
/* Thermals.mark(now): 1 when it was due. */
int32_t fw_thermal_mark(struct fw_thermal *t, int64_t now);
/* The ADC values stand for the last update point (settled at it). */
int32_t fw_thermal_settled(const struct fw_thermal *t);
/* Thermals.settle's C part: 0 when already settled; else the plants are
 * brought to the point, the c_adc plants' ADC inputs set, 1 returned
 * (the caller sets the others'). */
int32_t fw_thermal_settle_point(struct fw_thermal *t);
/* cffi:end */

#endif
