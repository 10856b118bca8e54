"""`klipsim simulate`: the unchanged host on the virtual CPU, talking over
a simulated serial link to klipsim's firmware, and the timing verdict.

Contract: `simulate(gcode, config, SimOptions(...))` builds
- the host computer (HostCPU: board preset, thread policy, load
  scenario, seed) and on it Klipper's threads: main reactor (Python),
  one step-generation thread per stepper (C), per MCU a serialqueue
  thread (C) and a serialhdl thread (Python), the log writer (Python),
  the tty kworker; the main thread also runs the 1 s stats timer (one
  log record each);
- the host (host.printer.Printer) on a SimReactor (kernel time), a
  SimLink and the MCU clock (sim/clocksync.py), using OUR firmware's
  data dictionary (message ids are by name on the host side);
- the firmware (one Firmware per MCU; only the main MCU is supported),
  handshaken with get_config before the run (move_count);
- G-code input read by a reactor timer in 4096-byte chunks like
  Klipper's input (each line charged to the main thread), throttled by
  the toolhead (_check_pause: about 1 s of motion ahead);
- a get_clock query every 0.9839 s (FACTS 2.4) answered through the
  link and handled in serialhdl, where it feeds the host's clock
  regression (clocksync.py; SimOptions.clock_sync="exact" gives the host
  the true MCU clock instead).
It runs the kernel until the firmware shut down or the print finished
(input done, link idle, MCU past the last scheduled clock) and returns a
SimResult whose `report()` is the JSON verdict (sim/report.py).
"""
import bisect
from dataclasses import dataclass, field

import numpy as np

from ..firmware.simulator import mcu as fwmcu
from ..gcode.dispatch import Dispatcher
from ..host.configfile import load_config, ConfigError
from ..host.printer import Printer
from .batch import input_chunks
from .clocksync import (ExactClockSource, McuClock, RegressionClockSource,
                        SerialQueueClock, extend_clock32)
from .costs import CostModel
from .cpu import HostCPU
from .host_threads import (LoggerThread, MainThread, SerialHdlThread, SimLink,
                           StepGenThread, TtyWorker)
from .kernel import NS_PER_MS, NS_PER_S
from .line_faults import LineFaults
from .load import load_scenario
from .machine import load_machine
from .mcu_node import McuNode
from .policy import load_policy
from .reactor_sim import ReactorLivelock, SimReactor
from .report import PulseCounts
from .serial_link import MIN_REQTIME_DELTA, SerialQueue, Wire

FAULT_STREAM = 0xFA17           # second key of the faults' seed sequence
GET_CLOCK_PERIOD = 0.9839      # clocksync.py query period (FACTS 2.4)
STATS_PERIOD = 1.0             # extras/statistics.py stats timer (FACTS 2.2)
RUN_SLICE_NS = 50 * NS_PER_MS  # kernel run between end checks / progress
DRAIN_SLICES = 20              # executed pulses leave the firmware every 1 s
END_SLACK_S = 0.100            # run this long past the last scheduled clock
SHUTDOWN_TAIL_NS = 10 * NS_PER_MS
TIE_NS = NS_PER_MS               # waits closer than this count as equal
RECENT_WAITS = 20               # waits per thread looked at for "starved_thread"
STALL_LIMIT_NS = 120 * NS_PER_S  # no progress for this long: a bug


class SimulateError(Exception):
    """A setup the simulation cannot run (one line for the user)."""


@dataclass
class SimOptions:
    profile: str = "stm32f446"
    board: str = "rpi3"
    policy: str = "klipper-default"
    load: str | None = None
    seed: int = 0
    transport: str = "uart"       # uart | usb | pty
    baud: int = 250000
    poll_ms: float = 5.0
    clock_offset: int = 0
    drift_ppb: int = 0
    clock_sync: str = "regression"  # or "exact" (host knows the MCU clock)
    fault_drop: float = 0.         # per byte, both directions
    fault_corrupt: float = 0.      # per byte, both directions
    costs: CostModel = field(default_factory=CostModel)
    record_stream: bool = False
    keep_pulses: bool = True       # result.pulses holds every pulse
    on_pulses: object = None       # f(pulses, pin_names) per executed chunk
    progress: object = None        # f(sim_seconds) called every run slice
    max_sim_s: float | None = None


@dataclass
class SimResult:
    options: SimOptions
    clock_freq: int
    end_ns: int
    shutdown: dict | None
    margins: object               # mcu_node.Margins
    host_report: dict
    link: object                  # serial_link.LinkStats
    pulses: object                # numpy PULSE_DTYPE array (if kept)
    pulse_counts: dict            # step pin -> {"steps", "net"}
    pin_names: dict
    stream: list | None           # (name, args) the host sent, in order
    gcode_errors: int
    print_time: float
    segments: int
    responses: int


class GcodeFeed:
    """The G-code input as a reactor timer: a chunk of lines per wake-up,
    each line counted for the cost model; the toolhead pauses it."""

    def __init__(self, path, printer, dispatcher, link, reactor):
        self.chunks = input_chunks(path)
        self.printer = printer
        self.dispatcher = dispatcher
        self.link = link
        self.reactor = reactor
        self.timeline_ns = []     # when each line started
        self.timeline_line = []
        self.done = False
        self.print_time = 0.
        reactor.register_timer(self._run, reactor.NOW)

    def _run(self, eventtime):
        kernel = self.reactor.kernel
        for commands, at_end in self.chunks:
            for cmd in commands:
                self.timeline_ns.append(kernel.now)
                self.timeline_line.append("%s:%d" % (cmd.source, cmd.lineno))
                self.link.meter.lines += 1
                self.dispatcher.run(cmd)
            if not at_end:
                self.reactor.pause(self.reactor.NOW)   # let other timers run
        self.print_time = self.printer.finish()
        self.done = True
        return self.reactor.NEVER

    def line_at(self, t_ns):
        i = bisect.bisect_right(self.timeline_ns, t_ns) - 1
        return self.timeline_line[i] if i >= 0 else None


def _handshake(fw):
    """get_config before the run: the move queue size (as the host learns
    it from the 'config' response)."""
    fw.send(("get_config", {}))
    for name, args in fw.responses():
        if name == "config":
            return args["move_count"]
    raise SimulateError("firmware %s did not answer get_config" % fw.profile)


class Simulation:
    def __init__(self, gcode_path, config_path, options):
        self.options = o = options
        self.host = HostCPU(load_machine(o.board), load_policy(o.policy),
                            load_scenario(o.load) if o.load else None, o.seed)
        self.kernel = self.host.kernel
        self.fw = fwmcu.Firmware(o.profile)
        self.move_count = _handshake(self.fw)
        if o.clock_offset:
            self.fw.run_until(o.clock_offset)
        self.clock = McuClock(self.fw.clock_freq, o.clock_offset, o.drift_ppb)
        if o.clock_sync == "exact":
            self.clock_source = ExactClockSource(self.clock)
            self.queue_clock = self.clock
        elif o.clock_sync == "regression":
            self.clock_source = RegressionClockSource(self.fw.clock_freq, 0., self.clock.clock(0))
            self.queue_clock = SerialQueueClock(self.clock_source)
        else:
            raise SimulateError("clock_sync must be 'exact' or 'regression', not %r"
                                % (o.clock_sync,))
        self.dictionary = self.fw.dictionary
        self._build_host(gcode_path, config_path)
        self._build_threads()
        self.stop_reason = None
        self.pin_names = {v: k for k, v in sorted(self.dictionary.pins.items())}
        self.pulse_chunks = []
        self.counts = PulseCounts(self.pin_names)

    def _build_host(self, gcode_path, config_path):
        config = load_config(config_path)
        for section in config.sections("mcu"):
            if section.name != "mcu":
                raise SimulateError("%s: only one MCU is simulated so far"
                                    % section.location())
        self.reactor = SimReactor(self.kernel)
        self.link = SimLink()
        self.errors = []
        self.dispatcher = Dispatcher(warning_sink=lambda t: None,
                                     error_sink=self.errors.append,
                                     info_sink=lambda t: None)
        self.printer = Printer(config, {"mcu": self.dictionary}, self.link,
                               self.clock_source, self.reactor, self.dispatcher)
        config.check_unused()
        self.printer.connect()
        self.link.meter.take()     # configuration is not charged
        self.feed = GcodeFeed(gcode_path, self.printer, self.dispatcher, self.link,
                              self.reactor)
        self.reactor.register_timer(self._get_clock, self.reactor.NOW)
        self.reactor.register_timer(self._stats, STATS_PERIOD)

    def _handle_clock(self, args):
        """serialhdl: a get_clock reply feeds the host's clock regression."""
        if "sent_ns" not in args:
            return
        est = self.clock_source
        received = args["received_ns"] / 1e9
        clock = extend_clock32(args["clock"], est.estimated_clock(received))
        est.sample(args["sent_ns"] / 1e9, received, clock)

    def _stats(self, eventtime):
        """Klipper's 1 s stats timer: collects every object's statistics
        and logs one "Stats" record (work charged, nothing sent)."""
        self.link.meter.extra_ns += self.options.costs.stats_ns
        self.link.meter.log_records += 1
        return eventtime + STATS_PERIOD

    def _get_clock(self, eventtime):
        self.link.send(self.printer.hw.main_mcu, "get_clock", {})
        return eventtime + GET_CLOCK_PERIOD

    def _build_threads(self):
        o, host, costs = self.options, self.host, self.options.costs
        mcu = self.printer.hw.main_mcu
        heater_oids = {h.pwm.oid for h in self.printer.heaters.heaters.values()}
        self.serialhdl = SerialHdlThread(host, costs, "mcu")
        self.tty = TtyWorker(host, costs, lambda data: self.serialq.receive(data))
        wire_out = Wire(o.transport, o.baud)
        # Faults draw from their own stream of the seed: enabling them
        # leaves the load scenario's phases where they were.
        fault_rng = np.random.default_rng([o.seed, FAULT_STREAM])
        self.faults = [LineFaults(fault_rng, o.fault_drop, o.fault_corrupt) for _ in range(2)]
        self.node = McuNode(self.kernel, self.fw, self.clock, wire_out, self.tty.push,
                            int(o.poll_ms * NS_PER_MS), on_shutdown=self._on_shutdown,
                            faults=self.faults[1])
        self.serialq = SerialQueue(host, "mcu", self.dictionary, self.queue_clock, self.node,
                                   Wire(o.transport, o.baud), costs, self.move_count,
                                   heater_oids, self.serialhdl.push,
                                   record=[] if o.record_stream else None,
                                   faults=self.faults[0])
        self.serialq.set_host_seq(self.fw.host_seq)
        if o.transport == "pty":
            self.serialq.tty_out = self.tty
        if isinstance(self.clock_source, RegressionClockSource):
            self.serialhdl.handlers["clock"] = self._handle_clock
        self.stepgens = {s.oid: StepGenThread(host, costs, s.name)
                         for s in self.printer.motion.steppers}
        self.main = MainThread(host, self.reactor, self.link, costs, {mcu: self.serialq},
                               self.stepgens)
        self.main.logger = self.logger = LoggerThread(host, costs)
        for messages in self.link.take().values():   # configuration commands
            self.serialq.enqueue(messages)
        self.node.start()

    # ---- running ----------------------------------------------------------------
    def _drain_pulses(self, pulses):
        """Executed pulses leave the firmware's buffer every DRAIN_SLICES
        run slices and at the end: counted, passed on, kept only when asked
        (a long print has tens of millions)."""
        if not len(pulses):
            return
        self.counts.add(pulses)
        if self.options.on_pulses is not None:
            self.options.on_pulses(pulses, self.pin_names)
        if self.options.keep_pulses:
            self.pulse_chunks.append(pulses)

    def _on_shutdown(self):
        self.stop_reason = "shutdown"

    def _finished(self):
        if not self.feed.done or not self.serialq.idle:
            return False
        end = self.node.last_sched_clock + int(END_SLACK_S * self.clock.freq)
        return self.clock.clock(self.kernel.now) >= end

    def run(self):
        kernel, progress = self.kernel, self.options.progress
        limit = int(self.options.max_sim_s * NS_PER_S) if self.options.max_sim_s else None
        last_sent, last_change = -1, 0
        slices = 0
        while self.stop_reason is None:
            kernel.run(until=kernel.now + RUN_SLICE_NS)
            slices += 1
            if slices % DRAIN_SLICES == 0:     # (numpy's per-call cost: not every slice)
                self._drain_pulses(self.fw.take_pulses())
            if progress is not None:
                progress(kernel.now / NS_PER_S)
            if self._finished():
                self.node.advance()
                if self.stop_reason is None:
                    self.stop_reason = "finished"
                break
            if limit is not None and kernel.now >= limit:
                self.stop_reason = "time limit"
                break
            sent = self.serialq.stats.blocks
            if sent != last_sent:
                last_sent, last_change = sent, kernel.now
            elif kernel.now - last_change > STALL_LIMIT_NS:
                raise SimulateError("simulation made no progress for %d s at %.3f s "
                                    "(a klipsim bug)" % (STALL_LIMIT_NS // NS_PER_S,
                                                         kernel.now / NS_PER_S))
        if self.stop_reason == "shutdown":
            self.shutdown_info = self._shutdown_info()
            kernel.run(until=kernel.now + SHUTDOWN_TAIL_NS)
        else:
            self.shutdown_info = None
        self.node.stop()
        return self._result()

    def _shutdown_info(self):
        reason, clock = self.node.shutdown
        t_ns = self.clock.time_ns(clock)
        late, stage = self._late_command()
        return {"reason": reason, "mcu": "mcu", "clock": clock,
                "time_s": round(t_ns / NS_PER_S, 6),
                "gcode_line": self.feed.line_at(t_ns),
                "late_command": late,
                "starved_thread": self._starved_thread(stage)}

    def _late_command(self):
        """The first command that reached the MCU after its clock, and
        which stage held it: the host produced it too late to be sent
        MIN_REQTIME_DELTA ahead ("main": main thread or step generation),
        or it was queued in time and left late ("serialq": the serial
        thread, or acks held up by the tty worker)."""
        if self.node.first_late is None:
            return None, None
        msg, sent_ns, arrival_ns = self.node.first_late
        freq = self.clock.freq
        due_ns = self.clock.time_ns(msg.sched)
        send_by_ns = due_ns - int(MIN_REQTIME_DELTA * NS_PER_S)
        stage = "main" if msg.queued_ns > send_by_ns else "serialq"
        return {"name": msg.name, "oid": msg.args.get("oid"),
                "margin_ms": round((msg.sched - self.clock.clock(arrival_ns)) * 1000. / freq, 4),
                "due_s": round(due_ns / NS_PER_S, 6),
                "queued_s": round(msg.queued_ns / NS_PER_S, 6),
                "sent_s": round(sent_ns / NS_PER_S, 6),
                "held_by": stage}, stage

    def _starved_thread(self, stage=None):
        """The Klipper thread with the longest recent wait for a CPU or the
        GIL: the wait going on now, or among its last RECENT_WAITS completed
        ones (the shutdown is seen when the late command arrives, i.e. just
        after the starvation ended). With the stage that held the late
        command known, only that stage's threads are candidates."""
        now = self.kernel.now
        stages = {
            "main": [self.main.thread] + [s.thread for s in self.stepgens.values()],
            "serialq": [self.serialq.thread],
        }
        klipper = stages.get(stage) or (
            [self.main.thread, self.serialq.thread, self.serialhdl.thread,
             self.logger.thread, self.tty.thread] + [s.thread for s in self.stepgens.values()])
        gil = self.host.gil
        best, best_wait = None, 0
        for t in klipper:
            waits = [max(w[-RECENT_WAITS:]) for w in (t.runq_waits, t.wake_latencies,
                                                      t.gil_waits) if w]
            if t.index in gil._wait_since:
                waits.append(now - gil._wait_since[t.index])
            if t.state == "runnable" and self.host.sched.running_on(t.core) is not t:
                waits.append(now - t.runnable_since)
            wait = max(waits, default=0)
            # the stage's own thread (listed first) wins near-ties
            if wait > best_wait + (TIE_NS if best is not None else 0):
                best, best_wait = t.name, wait
        return None if best is None else {"name": best, "waiting_ms": round(best_wait / 1e6, 3)}

    def _result(self):
        o = self.options
        self._drain_pulses(self.fw.take_pulses(self.fw.now + 1))
        pulses = (np.concatenate(self.pulse_chunks) if self.pulse_chunks
                  else np.empty(0, dtype=fwmcu.PULSE_DTYPE))
        return SimResult(o, self.fw.clock_freq, self.kernel.now, self.shutdown_info,
                         self.node.margins, self.host.report(), self.serialq.stats,
                         pulses, self.counts.as_dict(), self.pin_names, self.serialq.record, len(self.errors),
                         self.feed.print_time if self.feed.done else self.printer.toolhead.print_time,
                         self.main.segments, self.serialhdl.handled)


def simulate(gcode_path, config_path, options=None):
    try:
        return Simulation(gcode_path, config_path, options or SimOptions()).run()
    except KeyError as e:
        raise SimulateError(str(e.args[0]) if e.args else str(e)) from None
    except ReactorLivelock as e:
        raise SimulateError(str(e)) from None


__all__ = ["simulate", "SimOptions", "SimResult", "SimulateError", "ConfigError"]
