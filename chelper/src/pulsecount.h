#ifndef KLIPSIM_PULSECOUNT_H
#define KLIPSIM_PULSECOUNT_H
/* Step counts per pin over executed pulses (simulate's report): see
 * pulsecount.c; the Python model it replaces is kept in
 * tests/test_pulse_counts.py. */
#include <stdint.h>

/* cffi:begin */
/* One executed step pulse: the layout of the firmware's struct fw_pulse
 * (firmware/simulator, numpy PULSE_DTYPE: clock, pin, dir). */
struct pulse_record {
    uint64_t clock;
    uint32_t pin, dir;
};

int pulse_count(const struct pulse_record *pulses, int n, int64_t *steps,
                int64_t *ups, int npins);
/* cffi:end */

#endif
