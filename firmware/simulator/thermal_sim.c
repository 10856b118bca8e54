/* The heaters' thermal plants in C (see thermal_sim.h): a port of
 * sim/mcus/thermal.py's HeaterPlant.step_to / pin_level and of the event
 * part of Thermals.settle. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fwsim.h"
#include "thermal_sim.h"

#define AMBIENT_TEMP 25.            /* sim/mcus/thermal.py AMBIENT_TEMP */

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
