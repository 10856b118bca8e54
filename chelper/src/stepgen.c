// Step generation of several steppers in one call.
//
// A flush solves every stepper up to the same time, one after the other
// in registration order (host/motion_queuing.py).  Doing the loop here
// costs one crossing from Python per flush instead of one per stepper
// (and the Python frames around each); the steps are those of calling
// sk_generate_steps for each stepper in turn, which is what this does.
// Its reference is that per-stepper loop (tests/test_stepgen_many.py).
#include "stepgen.h"
#include "itersolve.h"

int
sk_generate_steps_many(struct stepper_kin **sks, int n, double flush_time,
                       int *failed)
{
    for (int i = 0; i < n; i++) {
        int ret = sk_generate_steps(sks[i], flush_time);
        if (ret) {
            *failed = i;
            return ret;
        }
    }
    *failed = -1;
    return 0;
}
