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
 * HeaterPlant (the build has no contraction, no fast math), so the
 * temperatures are the same doubles.
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
};
struct fw_thermal {
    struct mcu *fw;
    struct fw_plant *plants;
    size_t nplants;
    struct fw_gpio_event *pending;  /* [head, len): heater writes not applied */
    size_t head, len, cap;
};
struct fw_thermal *fw_thermal_new(struct mcu *m, size_t nplants);
void fw_thermal_free(struct fw_thermal *t);
void fw_thermal_take_events(struct fw_thermal *t);
void fw_thermal_settle(struct fw_thermal *t, uint64_t point);
void fw_plant_step_to(struct fw_plant *p, uint64_t clock);
void fw_plant_pin_level(struct fw_plant *p, uint64_t clock, uint32_t level);
/* cffi:end */

#endif
