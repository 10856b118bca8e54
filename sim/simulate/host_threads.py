"""Klipper's host threads as virtual threads, and the link the host code
writes to in simulate mode.

Contract:
- `SimLink(meter)`: the `link` host/ code sees (send, send_batch, query,
  can_pause=True). Messages are only collected (with the CostMeter
  counting them and the steps they carry); the main thread hands them
  to each MCU's SerialQueue when the burst that produced them completes.
- `MainThread(host, reactor, link, costs, serial_queues, stepgens)`: the
  reactor thread (Python, GIL). Its loop: take the next due timer, run
  its callback (host code runs for real, at the burst's start, in zero
  virtual time), then charge the segment as one burst holding the GIL
  (timer dispatch + G-code lines + messages x their costs); if the
  segment generated steps, release the GIL, let the step-generation
  threads charge their steps in parallel and wait for all of them
  (Klipper HEAD's steppersyncmgr_gen_steps); then the segment's messages
  become visible to the serial queues. With nothing due it sleeps until
  the next timer (or until kicked).
- `StepGenThread`: one per stepper (C, no GIL): charged per step; its
  program runs in C (a native program, chelper/src/vsprog.h).
- `SerialHdlThread`: one per MCU (Python): each response costs a GIL
  burst; `handlers` by response name are called at its end, and the
  rest go to the host's MCU object (`attach_host`: its handle_response,
  e.g. analog_in_state -> heater control), run at the burst's start like
  the main thread's host code. What the host code sends from there
  (heater PWM updates) is captured apart from the main thread's messages,
  charged in the same burst (per handled response and per message) and
  handed straight to the serial queue at its end, as Klipper's serialhdl
  thread calls serialqueue_send itself (KLIPPER-FACTS 1).
- `LoggerThread`: the log writer (Python): records cost GIL bursts.
- `TtyWorker`: the kernel's flip-buffer worker (SCHED_OTHER kworker,
  FACTS 8): received chunks cost it CPU before the serialq thread sees
  them; a native program too, which hands a chunk straight into the serial
  queue's C receive buffer.
"""
from collections import deque

from ...chelper._chelper import ffi, lib
from ..hostcpu.costs import CostMeter
from ..hostcpu.vthreads import NativeProgram
from ..link.queues import StepRun


class SimLink:
    can_pause = True             # a live MCU: answers come back through serialhdl

    def __init__(self):
        self.meter = CostMeter()
        self.outbox = {}          # MCU -> [(name, args, req_clock, min_clock) or StepRun]

    def send(self, mcu, name, args, req_clock=0, min_clock=0):
        self.outbox.setdefault(mcu, []).append((name, args, req_clock, min_clock))
        self.meter.messages += 1
        if name == "queue_step":
            self.meter.add_steps((mcu.name, args["oid"]), args["count"])

    def query(self, mcu, name, args):
        """A query leaves like any untimed command; the host waits for
        its answer (host/mcu.py MCU.query)."""
        self.send(mcu, name, args)

    def send_batch(self, mcu, batch):
        """A flush's step messages (chelper.steppersync.StepBatch), kept
        as one StepRun the serial queue takes whole (no tuple per message)."""
        self.outbox.setdefault(mcu, []).append(StepRun.from_batch(batch))
        meter = self.meter
        meter.messages += batch.count
        by_stepper, name = meter.steps, mcu.name     # (CostMeter.add_steps inlined)
        for oid, steps in batch.steps():
            by_stepper[name, oid] = by_stepper.get((name, oid), 0) + steps

    def take(self):
        out, self.outbox = self.outbox, {}
        return out

    def capture(self, function, *args):
        """Run host code on another thread than the main one: its sends
        and their costs are collected apart. Returns (function's result,
        {MCU: messages}, CostMeter)."""
        saved = self.outbox, self.meter
        self.outbox, self.meter = {}, CostMeter()
        try:
            result = function(*args)
            return result, self.outbox, self.meter
        finally:
            self.outbox, self.meter = saved


class MainThread:
    def __init__(self, host, reactor, link, costs, serial_queues, stepgens):
        self.host = host
        self.reactor = reactor
        self.link = link
        self.costs = costs
        self.serial_queues = serial_queues     # MCU object -> SerialQueue
        self.stepgens = stepgens               # (MCU name, stepper oid) -> StepGenThread
        self.kick = host.sched.signal("reactor pipe")
        self.sleeping_until = None
        self.segments = 0
        self.done = host.sched.signal("stepgen done")
        self.logger = None          # LoggerThread, if modelled
        self._steps = None          # the burst's steps by stepper, for _after_python
        self._speed = host.speed
        self._gil = host.gil
        self._after_python_step = self._after_python   # (bound once: every segment)
        reactor.on_timer_change = self._timer_changed
        self.thread = host.spawn_role("main", "klippy", self._loop, at=host.kernel.now + 1)

    def _timer_changed(self, wake_ns):
        """A timer moved earlier than the sleep: wake the thread (in
        Klipper a cross-thread update writes the reactor's pipe; from the
        main thread itself it simply re-checks before sleeping)."""
        if self.sleeping_until is not None and wake_ns < self.sleeping_until:
            self.sleeping_until = None
            self.kick.post()

    def _loop(self):
        reactor = self.reactor
        t = self.thread
        self.sleeping_until = None
        if not reactor.run_due():
            wake = reactor.next_wake_ns()
            self.sleeping_until = wake
            t.wait(self.kick, self._loop, until=wake if wake < (1 << 62) else None)
            return
        self.segments += 1
        meter = self.link.meter
        steps = meter.steps
        if steps:
            meter.steps = {}
        else:
            steps = None
        c = self.costs
        py_ns = (c.timer_wake_ns + meter.lines * c.gcode_line_ns
                 + meter.messages * c.message_py_ns + meter.extra_ns)
        meter.lines = meter.messages = meter.extra_ns = 0
        self._steps = steps
        # (HostCPU.cost_ns inlined: the same rounding of the same quotient)
        self._gil.run(t, round(py_ns / self._speed), self._after_python_step)

    def _after_python(self):
        self._gil.release(self.thread)
        steps = self._steps
        busy = [(self.stepgens[oid], n) for oid, n in sorted(steps.items())
                if oid in self.stepgens] if steps is not None else None
        if not busy:
            self._publish()
            # The next loop in this program step: a compute(0) before it
            # would only start a zero-time step at once (the C core runs
            # a thread's zero-time steps back to back).
            self._loop()
            return
        for stepgen, n in busy:
            stepgen.submit(n, self.done)
        # one wake per stepgen done; the C core re-waits after all but the last
        self.thread.wait_posts(self.done, len(busy), self._stepgen_done)

    def _stepgen_done(self):
        self._publish()
        self._loop()               # (as in _after_python)

    def _publish(self):
        link = self.link
        if link.outbox:
            queues = self.serial_queues
            for mcu, messages in link.take().items():
                queues[mcu].enqueue(messages)
        meter = link.meter
        if meter.log_records and self.logger is not None:
            self.logger.push(meter.log_records)
            meter.log_records = 0


class StepGenThread:
    """One stepper's step-generation thread (C, no GIL), a native program
    (chelper/src/vs_prog.c): each batch submitted costs stepgen_wake_ns
    + steps x step_ns, then posts the batch's done signal. The Python
    program it replaced is tests/_host_threads_model.py's."""

    def __init__(self, host, costs, name):
        self.host = host
        self.costs = costs
        self.signal = host.sched.signal("stepgen " + name)
        vs = host.kernel._vs
        self._vs = vs
        self._c = ffi.gc(lib.stepgen_prog_new(vs, self.signal.id,
                                              _ns(costs.stepgen_wake_ns),
                                              _ns(costs.step_ns), host.machine.cpu_speed),
                         lib.stepgen_prog_free)
        program = NativeProgram(lambda t: lib.stepgen_prog_attach(self._c, t), self)
        self.thread = host.spawn_role("stepgen", name[:15], program, at=host.kernel.now + 1)

    def submit(self, steps, done):
        vs = self._vs
        lib.stepgen_submit(self._c, steps, done.id)
        if vs.err:
            self.host.kernel.raise_error()


class SerialHdlThread:
    def __init__(self, host, costs, name):
        self.host = host
        self.costs = costs
        self.inbox = deque()
        self.handlers = {}          # response name -> f(args)
        self.handled = 0
        self.host_handled = 0       # responses the host's objects took
        self.host_mcu = self.link = self.serial_queue = None
        self.signal = host.sched.signal("serialhdl " + name)
        self._running = None        # (batch, sends) of the burst under way
        self._done_step = self._done
        self.thread = host.spawn_role("serialhdl", ("serialhdl " + name)[:15],
                                      self._loop, at=host.kernel.now + 1)

    def attach_host(self, mcu, link, serial_queue):
        """Responses no sim handler takes go to the host's MCU object;
        what it sends goes to serial_queue."""
        self.host_mcu, self.link, self.serial_queue = mcu, link, serial_queue

    def push(self, name, args):
        self.inbox.append((name, args))
        self.signal.post()

    def _loop(self):
        self.thread.wait(self.signal, self._run)

    def _run(self):
        batch = list(self.inbox)
        self.inbox.clear()
        taken, messages, sends = self._host_responses(batch)
        c = self.costs
        ns = self.host.cost_ns(c.serialhdl_response_ns * max(1, len(batch))
                               + c.host_response_ns * taken + c.message_py_ns * messages)
        self._running = batch, sends
        self.host.gil.run(self.thread, ns, self._done_step)

    def _host_responses(self, batch):
        """Run the host's handlers (as the main thread's host code runs: at
        the burst's start, in zero virtual time); their messages leave at
        the burst's end. Returns (responses taken, messages, sends)."""
        taken, messages, sends = 0, 0, []
        if self.host_mcu is None:
            return taken, messages, sends
        for name, args in batch:
            if name in self.handlers:
                continue
            took, outbox, meter = self.link.capture(self.host_mcu.handle_response, name, args)
            taken += bool(took)
            messages += meter.messages
            sends.extend(outbox.get(self.host_mcu, ()))
        self.host_handled += taken
        return taken, messages, sends

    def _done(self):
        batch, sends = self._running
        self._running = None
        self.host.gil.release(self.thread)
        for name, args in batch:
            self.handled += 1
            handler = self.handlers.get(name)
            if handler is not None:
                handler(args)
        if sends:
            self.serial_queue.enqueue(sends)
        self.thread.wait(self.signal, self._run)


class LoggerThread:
    """Klipper's queuelogger thread (Python): each record costs a GIL
    burst; the file write itself releases the GIL."""

    def __init__(self, host, costs):
        self.host = host
        self.costs = costs
        self.pending = 0
        self.records = 0
        self.signal = host.sched.signal("queuelogger")
        self.thread = host.spawn_role("logger", "queuelogger", self._loop,
                                      at=host.kernel.now + 1)

    def push(self, records):
        self.pending += records
        self.signal.post()

    def _loop(self):
        self.thread.wait(self.signal, self._run)

    def _run(self):
        n, self.pending = self.pending, 0
        if not n:
            self.thread.wait(self.signal, self._run)
            return
        self.records += n
        ns = self.host.cost_ns(self.costs.log_line_ns * n)
        self.host.gil.run(self.thread, ns, self._done)

    def _done(self):
        self.host.gil.release(self.thread)
        self.thread.wait(self.signal, self._run)


class TtyWorker:
    """Data passing through the kernel's tty flip-buffer worker: chunks
    received from the MCU (every transport), and for a pseudo-tty also
    what the host writes (FACTS 8). A native program (chelper/src/
    vs_prog.c): a burst takes every chunk pushed so far, costs
    kworker_chunk_ns per chunk (at least one), and at its end hands each
    on in push order. The Python program it replaced is
    tests/_host_threads_model.py's.

    `target(serial_queue)` registers a serial queue and returns its
    number; `push(data, to)` queues a chunk for target `to` (a number:
    into that queue's receive buffer, all in C) or for a callable `to`
    (called with the data from Python, in order with the rest)."""

    def __init__(self, host, costs):
        self.host = host
        self.costs = costs
        self.signal = host.sched.signal("tty flip")
        self._vs = host.kernel._vs
        self._handle = ffi.new_handle(self)
        self._c = ffi.gc(lib.kworker_new(self._vs, self.signal.id, _ns(costs.kworker_chunk_ns),
                                         host.machine.cpu_speed, self._handle),
                         lib.kworker_free)
        self._py = deque()             # (data, callback) of the Python chunks
        self._targets = {}             # SerialQueue -> target number
        program = NativeProgram(lambda t: lib.kworker_attach(self._c, t), self)
        self.thread = host.spawn_kworker("kworker/tty", program, at=host.kernel.now + 1)

    def target(self, serial_queue):
        number = self._targets.get(serial_queue)
        if number is None:
            number = self._targets[serial_queue] = lib.kworker_target(
                self._c, serial_queue.link.c_link, serial_queue.signal.id)
        return number

    def sink(self, target):
        """(function, context) addresses of a C output sink pushing to
        `target` (int32_t sink(ctx, data, len), vsprog.h kworker_sink):
        for an MCU node's output event, which then never enters Python."""
        fn = ffi.cast("uintptr_t", ffi.addressof(lib, "kworker_sink"))
        ctx = ffi.cast("uintptr_t", lib.kworker_port(self._c, target))
        return int(fn), int(ctx)

    def push(self, data, to):
        if to.__class__ is int:
            if data.__class__ is not bytes:
                data = bytes(data)
            lib.kworker_push(self._c, to, data, len(data))
        else:
            self._py.append((data, to))
            lib.kworker_push_py(self._c)
        if self._vs.err:
            self.host.kernel.raise_error()


def _ns(cost):
    """A reference cost handed to C: integer ns (CostModel's figures)."""
    if cost.__class__ is not int:
        raise TypeError(f"a native program's cost must be int ns, got {cost!r}")
    return cost


@ffi.def_extern()
def kworker_py_deliver(ud):
    """The kworker's burst hands a Python chunk on (the next in push
    order); 1 with the error kept on the kernel when the callback raised."""
    tty = ffi.from_handle(ud)
    data, deliver = tty._py.popleft()
    try:
        deliver(data)
    except BaseException as error:     # noqa: BLE001 - re-raised by the kernel
        kernel = tty.host.kernel
        if kernel._error is None:
            kernel._error = error
        return 1
    return 0
