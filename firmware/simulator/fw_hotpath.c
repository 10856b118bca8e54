/* The per-step path of the simulated firmware as one translation unit.
 *
 * Contract: compiles the scheduler (sched.c), the steppers (stepper.c),
 * the analog inputs (adccmds.c: the run loop asks whether the head timer
 * samples a watched pin) and the board layer (board_sim.c) together,
 * unchanged, so the compiler can inline across them: a step is
 * fw_run_until's loop, the head timer's callback, stepper_event,
 * timer_read_time and board_step_edge, and as separate objects each of
 * those is a call.  No behaviour of its own; build_firmware.py compiles
 * this file instead of the four.
 */
#include "../src/sched.c"
#include "../src/stepper.c"
#include "../src/adccmds.c"
#include "board_sim.c"
