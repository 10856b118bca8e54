/* Steps and direction-weighted steps per pin over executed pulses.
 *
 * Contract: pulse_count() adds, for each of `n` pulses, one to
 * steps[pin] and its direction level (0 or 1) to ups[pin], so a pin's
 * net travel is 2 * ups - steps.  It returns 0 when it did, or, when
 * a pin does not fit the arrays (pin >= npins), the size they need
 * (nothing added: the caller grows them and calls again).  It replaces
 * two numpy bincounts per chunk of pulses (sim/simulate/report.py). */
#include "pulsecount.h"

int
pulse_count(const struct pulse_record *pulses, int n, int64_t *steps,
            int64_t *ups, int npins)
{
    uint32_t top = 0;
    int i;
    for (i = 0; i < n; i++)
        if (pulses[i].pin > top)
            top = pulses[i].pin;
    if (n && top >= (uint32_t)npins)
        return (int)top + 1;
    for (i = 0; i < n; i++) {
        steps[pulses[i].pin]++;
        ups[pulses[i].pin] += pulses[i].dir;
    }
    return 0;
}
