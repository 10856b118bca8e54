/* The heaters' thermal plants in C (see thermal_sim.h): a port of
 * sim/mcus/thermal.py's HeaterPlant.step_to / pin_level and of the event
 * part of Thermals.settle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fwsim.h"
#include "thermal_sim.h"

#define AMBIENT_TEMP 25.            /* sim/mcus/thermal.py AMBIENT_TEMP */
#define KELVIN 273.15               /* host/thermistor.py KELVIN */

struct fw_thermal *fw_thermal_new(struct mcu *m, size_t nplants)
{
    struct fw_thermal *t = calloc(1, sizeof(*t));
    if (!t)
        abort();
    t->fw = m;
    t->nplants = nplants;
    t->plants = calloc(nplants ? nplants : 1, sizeof(*t->plants));
    if (!t->plants)
        abort();
    return t;
}

void fw_thermal_free(struct fw_thermal *t)
{
    if (!t)
        return;
    free(t->plants);
    free(t->pending);
    free(t);
}

/* HeaterPlant.step_to: the exact solution at constant power. */
void fw_plant_step_to(struct fw_plant *p, uint64_t clock)
{
    if (clock <= p->clock)
        return;
    double dt = (double)(int64_t)(clock - p->clock) / p->freq;
    double steady = AMBIENT_TEMP + p->gain * (double)p->power;
    p->temp = steady + (p->temp - steady) * exp(-dt / p->tau);
    if (p->temp > p->max_temp)
        p->max_temp = p->temp;
    p->clock = clock;
}

void fw_plant_pin_level(struct fw_plant *p, uint64_t clock, uint32_t level)
{
    fw_plant_step_to(p, clock);
    p->power = (int64_t)level ^ p->invert;
}

/* The plant a heater pin drives (the last one listed: Thermals'
 * by_heater_pin dict), or NULL. */
static struct fw_plant *plant_of(struct fw_thermal *t, uint32_t pin)
{
    for (size_t i = t->nplants; i-- > 0;)
        if (t->plants[i].heater_pin == pin)
            return &t->plants[i];
    return NULL;
}

void fw_thermal_take_events(struct fw_thermal *t)
{
    size_t n = fw_gpio_events_available(t->fw);
    if (!n)
        return;
    if (t->head == t->len) {
        t->head = t->len = 0;
    } else if (t->head) {         /* (keep the queue at the buffer's start) */
        memmove(t->pending, t->pending + t->head, (t->len - t->head) * sizeof(*t->pending));
        t->len -= t->head;
        t->head = 0;
    }
    t->pending = fw_grow(t->pending, &t->cap, t->len + n, sizeof(*t->pending));
    fw_gpio_events_take(t->fw, t->pending + t->len, n);
    size_t kept = t->len;
    for (size_t i = t->len; i < t->len + n; i++)      /* heater pins only */
        if (plant_of(t, t->pending[i].pin))
            t->pending[kept++] = t->pending[i];
    t->len = kept;
}

void fw_thermal_settle(struct fw_thermal *t, uint64_t point)
{
    fw_thermal_take_events(t);
    while (t->head < t->len && t->pending[t->head].clock <= point) {
        struct fw_gpio_event *e = &t->pending[t->head++];
        fw_plant_pin_level(plant_of(t, e->pin), e->clock, e->value);
    }
    for (size_t i = 0; i < t->nplants; i++)
        fw_plant_step_to(&t->plants[i], point);
}

/* Thermistor.resistance and calc_adc (host/thermistor.py): the
 * Steinhart-Hart equation inverted for ln R (Cardano), then the divider
 * with the pullup.  (x ** 3 in Python is pow(x, 3.0).) */
static double thermistor_adc(const struct fw_plant *p, double temp)
{
    if (temp <= -KELVIN)
        return 1.;
    double inv_t = 1. / (temp + KELVIN), ln_r;
    if (p->c3 != 0.) {
        double y = (p->c1 - inv_t) / (2. * p->c3);
        double x = sqrt(pow(p->c2 / (3. * p->c3), 3.) + y * y);
        ln_r = pow(x - y, 1. / 3.) - pow(x + y, 1. / 3.);
    } else {
        ln_r = (inv_t - p->c1) / p->c2;
    }
    double r = exp(ln_r) + p->inline_resistor;
    return r / (p->pullup + r);
}

int64_t fw_plant_adc_value(const struct fw_plant *p)
{
    int64_t value = (int64_t)(thermistor_adc(p, p->temp) * (double)p->adc_max + 0.5);
    return value < 0 ? 0 : value > p->adc_max ? p->adc_max : value;
}

int32_t fw_thermal_mark(struct fw_thermal *t, int64_t now)
{
    if (now < t->next_due)
        return 0;
    t->next_due = now + t->period;
    t->point = now;
    t->has_point = 1;
    t->version++;
    return 1;
}

int32_t fw_thermal_settled(const struct fw_thermal *t)
{
    return t->has_settled == t->has_point && (!t->has_point || t->settled_at == t->point);
}

int32_t fw_thermal_settle_point(struct fw_thermal *t)
{
    if (fw_thermal_settled(t))
        return 0;
    t->settled_at = t->point;
    t->has_settled = 1;
    t->version++;
    fw_thermal_settle(t, (uint64_t)t->point);
    for (size_t i = 0; i < t->nplants; i++)
        if (t->plants[i].c_adc)
            fw_set_adc(t->fw, t->plants[i].sensor_pin,
                       (uint16_t)fw_plant_adc_value(&t->plants[i]));
    return 1;
}
