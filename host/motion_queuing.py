"""Motion queuing: the trapezoid queues, the steppers that read them, and
when steps get generated and handed to the MCUs.

Step generation runs in batches: each batch solves every stepper up to a
step-generation time, compresses the steps, retires trapezoids that no
stepper needs any more, and sends the stepper messages of all steppers
merged by the clock at which the MCU needs them (as Klipper's steppersync
does). The generation time always stays kin_flush_delay behind the end of
the queued motion, because kinematics with a scan window (pressure
advance, input shaping) need to see motion after the time they solve.

Facts (KLIPPER-FACTS.md 2.1/2.2): MIN_KIN_TIME 0.100 s, SDS_CHECK_TIME
0.001 s, STEPCOMPRESS_FLUSH_TIME 0.050 s, MOVE_HISTORY_EXPIRE 30 s;
restart after idle at max(est + MIN_KIN_TIME, last step-gen time) +
kin_flush_delay.
"""
import numpy as np

from ..chelper import motion

MIN_KIN_TIME = 0.100
SDS_CHECK_TIME = 0.001
STEPCOMPRESS_FLUSH_TIME = 0.050
MOVE_HISTORY_EXPIRE = 30.
STEP_GEN_BATCH_TIME = 0.250   # generate steps once this much motion is queued

KIND_QUEUE_STEP, KIND_SET_DIR, KIND_RESET_CLOCK = 0, 1, 2


class MotionQueuing:
    def __init__(self):
        self.toolhead_trapq = motion.TrapQ()
        self.trapqs = [self.toolhead_trapq]
        self.steppers = []
        self.kin_flush_delay = SDS_CHECK_TIME
        self.last_step_gen_time = 0.
        self.need_step_gen_time = 0.
        self.flush_callbacks = []   # f(flush_time) before each batch

    def allocate_trapq(self):
        trapq = motion.TrapQ()
        self.trapqs.append(trapq)
        return trapq

    def register_stepper(self, stepper):
        self.steppers.append(stepper)

    def update_kin_flush_delay(self):
        """The flush delay covers the widest scan window of any stepper."""
        windows = [SDS_CHECK_TIME]
        for stepper in self.steppers:
            sk = stepper.kinematics
            windows.extend([sk.gen_steps_pre_active, sk.gen_steps_post_active])
        self.kin_flush_delay = max(windows)

    def step_gen_restart_time(self, est_print_time):
        return (max(est_print_time + MIN_KIN_TIME, self.last_step_gen_time)
                + self.kin_flush_delay)

    def note_motion(self, end_time):
        self.need_step_gen_time = max(self.need_step_gen_time,
                                      end_time + self.kin_flush_delay)

    def advance(self, print_time):
        """Generate steps in batches as queued motion grows.

        Batches end on a fixed grid of STEP_GEN_BATCH_TIME in print time
        (Klipper's batch outputs split long constant-speed runs exactly
        there); the compressor is flushed STEPCOMPRESS_FLUSH_TIME before
        the batch end, so runs may continue up to the end of the batch."""
        horizon = print_time - self.kin_flush_delay
        batch = STEP_GEN_BATCH_TIME
        next_end = (int(self.last_step_gen_time / batch + 1e-9) + 1) * batch
        while next_end <= horizon:
            self.generate_steps(next_end, next_end - STEPCOMPRESS_FLUSH_TIME)
            next_end += batch

    def flush_all_steps(self):
        target = max(self.need_step_gen_time, self.last_step_gen_time)
        self.generate_steps(target, target)

    def generate_steps(self, step_gen_time, flush_time):
        for callback in self.flush_callbacks:
            callback(step_gen_time)
        batches = []
        for stepper in self.steppers:
            stepper.generate_steps(step_gen_time)
            compressor = stepper.compressor
            compressor.flush(stepper.mcu.print_time_to_clock(flush_time))
            batches.append((stepper, compressor.take_messages()))
        retire_time = step_gen_time - self.kin_flush_delay
        for trapq in self.trapqs:
            trapq.finalize_moves(retire_time, retire_time - MOVE_HISTORY_EXPIRE)
        self.last_step_gen_time = step_gen_time
        self._send_merged(batches)

    @staticmethod
    def _send_merged(batches):
        """Send all steppers' messages ordered by required clock; equal
        clocks keep stepper registration order."""
        pieces = [(s, m) for s, m in batches if len(m)]
        if not pieces:
            return
        req = np.concatenate([m["req_clock"] for _, m in pieces])
        owner = np.concatenate([np.full(len(m), i, dtype=np.int32)
                                for i, (_, m) in enumerate(pieces)])
        index = np.concatenate([np.arange(len(m)) for _, m in pieces])
        order = np.lexsort((index, owner, req))
        for k in order.tolist():
            stepper, msgs = pieces[owner[k]]
            stepper.send_message(msgs[index[k]])
