"""Motion queuing: the trapezoid queues, the steppers that read them, and
when steps get generated and handed to the MCUs.

Two times drive it: `need_step_gen_time` (how far queued motion reaches,
plus kin_flush_delay) and `last_step_gen_time` (how far steps have been
generated). A flush ("advance") generates every stepper's steps up to a
step-generation time, flushes the step compressors up to a slightly
earlier flush time (STEPCOMPRESS_FLUSH_TIME, so compressed runs may keep
growing into the next batch), retires trapezoids no stepper needs, and
sends all steppers' messages merged by the clock at which the MCU needs
them (as Klipper's steppersync does). Flush callbacks run first (the
toolhead uses one to flush its look-ahead when generation catches up).

Flushing is driven by a reactor timer, kicked when motion is queued. Its
policy is Klipper's (extras/motion_queuing.py, KLIPPER-FACTS.md 2.2):

* with a live MCU: generate 0.25 s batches up to est_print_time + 0.70,
  waking when est_print_time reaches last_step_gen_time - 0.45; when no
  steps are pending, flush to est + 0.40 (at most need_flush_time + 0.25);
* for file output (batch mode, no MCU clock): generate 0.25 s batches
  while generation is more than 1.5 s behind the queued motion; when no
  batch is due, flush everything up to need_flush_time + 0.25 and sleep
  until kicked again.
"""
from ..chelper import motion
from ..chelper.steppersync import StepperSync

BGFLUSH_LOW_TIME = 0.200
BGFLUSH_HIGH_TIME = 0.400
BGFLUSH_SG_LOW_TIME = 0.450
BGFLUSH_SG_HIGH_TIME = 0.700
BGFLUSH_EXTRA_TIME = 0.250
BATCH_OUTPUT_LAG = 1.5       # batch mode keeps generation this far behind
BATCH_TIME = BGFLUSH_SG_HIGH_TIME - BGFLUSH_SG_LOW_TIME   # 0.25 s
DRIP_SEGMENT_TIME = 0.050
DRIP_TIME = 0.100
MIN_KIN_TIME = 0.100
SDS_CHECK_TIME = 0.001
STEPCOMPRESS_FLUSH_TIME = 0.050
MOVE_HISTORY_EXPIRE = 30.


class MotionQueuing:
    def __init__(self, reactor, clock_source, can_pause):
        self.reactor = reactor
        self.clock_source = clock_source   # estimated_print_time(eventtime)
        self.can_pause = can_pause
        self.toolhead_trapq = motion.TrapQ()
        self.trapqs = [self.toolhead_trapq]
        self.steppers = []
        self.flush_callbacks = []   # f(flush_time, step_gen_time)
        self.kin_flush_delay = SDS_CHECK_TIME
        self.last_flush_time = self.last_step_gen_time = 0.
        self.need_flush_time = self.need_step_gen_time = 0.
        handler = self._flush_handler if can_pause else self._flush_handler_batch
        self.flush_timer = reactor.register_timer(handler)
        self.do_kick_flush_timer = True
        self._syncs = None   # [(mcu, StepperSync)], made at the first flush
        self._group = None   # motion.StepperGroup of the steppers' solvers

    # ---- registration ---------------------------------------------------------
    def allocate_trapq(self):
        trapq = motion.TrapQ()
        self.trapqs.append(trapq)
        return trapq

    def register_stepper(self, stepper):
        self.steppers.append(stepper)
        self._syncs = None

    def _step_syncs(self):
        """[(mcu, StepperSync)], one per MCU with steppers, in the order of
        each MCU's first stepper; its compressors in registration order.
        Made when first needed (every stepper has its compressor by then);
        remaking it loses nothing, as unsent messages stay queued in the
        compressors."""
        if self._syncs is None:
            syncs = {}
            for stepper in self.steppers:
                sync = syncs.get(stepper.mcu)
                if sync is None:
                    sync = syncs[stepper.mcu] = StepperSync()
                sync.add(stepper.compressor)
            self._syncs = list(syncs.items())
        return self._syncs

    def set_mcu_time(self, mcu, clock_adj):
        """`mcu`'s print time mapping is now (offset, freq): its steppers'
        compressors convert later steps with it (steppersync_set_time)."""
        for stepper in self.steppers:
            if stepper.mcu is mcu and stepper.clock_adj != clock_adj:
                stepper.clock_adj = clock_adj
                stepper.compressor.set_time(*clock_adj)

    def register_flush_callback(self, callback, first=False):
        if first:
            self.flush_callbacks.insert(0, callback)
        else:
            self.flush_callbacks.append(callback)

    def update_kin_flush_delay(self):
        """The flush delay covers the widest scan window of any stepper."""
        windows = [SDS_CHECK_TIME]
        for stepper in self.steppers:
            sk = stepper.kinematics
            windows.extend([sk.gen_steps_pre_active, sk.gen_steps_post_active])
        self.kin_flush_delay = max(windows)

    # ---- times ----------------------------------------------------------------
    def step_gen_restart_time(self, est_print_time):
        return (max(est_print_time + MIN_KIN_TIME, self.last_step_gen_time)
                + self.kin_flush_delay)

    def note_mcu_movequeue_activity(self, mq_time, is_step_gen=True):
        """Motion (or another timed command) is queued up to `mq_time`."""
        if is_step_gen:
            mq_time += self.kin_flush_delay
            self.need_step_gen_time = max(self.need_step_gen_time, mq_time)
        self.need_flush_time = max(self.need_flush_time, mq_time)
        if self.do_kick_flush_timer:
            self.do_kick_flush_timer = False
            self.reactor.update_timer(self.flush_timer, self.reactor.NOW)

    def flush_all_steps(self):
        self.advance_flush_time(self.need_step_gen_time)

    def wipe_trapq(self, trapq):
        """Retire whatever motion is left in `trapq` (after a drip move)."""
        trapq.finalize_moves(self.reactor.NEVER, 0.)

    def drip_update_time(self, start_time, end_time, completion):
        """Generate a homing/probing move's steps in 50 ms segments, each
        only DRIP_TIME ahead of the MCU (with a live MCU), stopping early
        when `completion.test()` says an endstop triggered. Offline nothing
        triggers, so the whole move is stepped (Klipper's batch mode)."""
        self.reactor.update_timer(self.flush_timer, self.reactor.NEVER)
        self.do_kick_flush_timer = False
        self.advance_flush_time(start_time)
        flush_time = start_time
        while flush_time < end_time:
            if completion.test():
                break
            if self.can_pause:
                now = self.reactor.monotonic()
                wait = flush_time - self.clock_source.estimated_print_time(now) - DRIP_TIME
                if wait > 0.:
                    completion.wait(now + wait)
                    continue
            flush_time = min(flush_time + DRIP_SEGMENT_TIME, end_time)
            self.note_mcu_movequeue_activity(flush_time)
            self.advance_flush_time(flush_time)
        self.reactor.update_timer(self.flush_timer, self.reactor.NOW)
        self.advance_flush_time(flush_time + self.kin_flush_delay)

    # ---- flushing -------------------------------------------------------------
    def advance_flush_time(self, want_flush_time, want_step_gen_time=0.):
        flush_time = max(want_flush_time, self.last_flush_time,
                         want_step_gen_time - STEPCOMPRESS_FLUSH_TIME)
        step_gen_time = max(want_step_gen_time, self.last_step_gen_time, flush_time)
        for callback in list(self.flush_callbacks):
            callback(flush_time, step_gen_time)
        retire_time = step_gen_time - self.kin_flush_delay
        clear_history_time = max(0., retire_time - MOVE_HISTORY_EXPIRE)
        self._generate_steps(flush_time, step_gen_time)
        self.last_flush_time = flush_time
        self.last_step_gen_time = step_gen_time
        for trapq in self.trapqs:
            trapq.finalize_moves(retire_time, clear_history_time)

    def _generate_steps(self, flush_time, step_gen_time):
        """Solve every stepper, compress them, then hand each MCU the batch
        of its messages merged by clock up to the flush clock, as
        Klipper's steppersync_flush picks them (chelper/steppersync.py:
        ties go to the first registered stepper; a queue_step required
        after the flush clock waits, with everything behind it)."""
        self._solve_steppers(step_gen_time)
        for mcu, sync in self._step_syncs():   # compresses, then merges
            batch = sync.flush(mcu.print_time_to_clock(flush_time))
            if batch.count:
                mcu.send_batch(batch)

    def _solve_steppers(self, step_gen_time):
        """Every stepper's generate_steps, in registration order: in one
        C call (motion.StepperGroup) when none has more to do than solve
        (Stepper.plain_solver), which is the case after the first moves."""
        solvers = [stepper.plain_solver() for stepper in self.steppers]
        if None in solvers:
            for stepper in self.steppers:
                stepper.generate_steps(step_gen_time)
            return
        group = self._group
        if group is None or group.members != solvers:
            group = self._group = motion.StepperGroup(solvers)
        failed = group.generate_steps(step_gen_time)
        if failed is not None:
            index, ret = failed
            self.steppers[index].generation_failed(ret)

    def _flush_handler_batch(self, eventtime):
        """Batch mode: 0.25 s batches while more than 1.5 s behind the
        queued motion; otherwise flush everything and wait for a kick."""
        behind_time = self.need_flush_time - BATCH_OUTPUT_LAG
        batches = 0
        while self.last_step_gen_time < behind_time:
            target = self.last_step_gen_time + BATCH_TIME
            if batches > 100 and behind_time > target:
                # Skip ahead in whole batches (keeps the 0.25 s grid).
                target += int((behind_time - target) / BATCH_TIME) * BATCH_TIME
            self.advance_flush_time(0., target)
            batches += 1
        if batches:
            return self.reactor.NOW
        self.advance_flush_time(self.need_flush_time + BGFLUSH_EXTRA_TIME)
        self.do_kick_flush_timer = True
        return self.reactor.NEVER

    def _flush_handler(self, eventtime):
        """Live MCU: keep steps generated 0.45-0.70 s ahead of the MCU."""
        est = self.clock_source.estimated_print_time(eventtime)
        aggressive_sg_time = self.need_step_gen_time - 2. * self.kin_flush_delay
        if self.last_step_gen_time < aggressive_sg_time:
            want_sg_time = est + BGFLUSH_SG_HIGH_TIME
            next_batch_time = self.last_step_gen_time + BATCH_TIME
            if next_batch_time > est:
                # Batch from the last generation time (reproducible runs).
                if next_batch_time > want_sg_time + 0.005:
                    next_batch_time = self.last_step_gen_time
                want_sg_time = next_batch_time
            want_sg_time = min(want_sg_time, aggressive_sg_time)
            if want_sg_time > self.last_step_gen_time:
                self.advance_flush_time(0., want_sg_time)
        else:
            want_flush_time = min(est + BGFLUSH_HIGH_TIME,
                                  self.need_flush_time + BGFLUSH_EXTRA_TIME)
            if want_flush_time > self.last_flush_time:
                self.advance_flush_time(want_flush_time)
        aggressive_sg_time = self.need_step_gen_time - 2. * self.kin_flush_delay
        if self.last_step_gen_time < aggressive_sg_time:
            waketime = self.last_step_gen_time - BGFLUSH_SG_LOW_TIME
        else:
            self.do_kick_flush_timer = True
            if self.last_flush_time >= self.need_flush_time + BGFLUSH_EXTRA_TIME:
                return self.reactor.NEVER
            waketime = self.last_flush_time - BGFLUSH_LOW_TIME
        return eventtime + waketime - est
