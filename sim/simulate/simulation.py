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
  SimLink and the MCU clock (sim/link/clocksync.py), using OUR firmware's
  data dictionary (message ids are by name on the host side);
- per [mcu] / [mcu NAME] section one McuLink (sim/simulate/mcu_link.py): its
  firmware (handshaken with get_config: move_count) on its own clock
  (offset, drift), the host's clock estimate over its own link, its
  serialqueue and serialhdl threads, wire and McuNode; print time is
  the main MCU's clock, other MCUs map it through a SecondarySync
  (FACTS 2.4), re-fitted by the 1 s stats timer; an MCU with the
  `linux` profile (default for `serial: /tmp/klipper_host_mcu`) is a
  Linux process on the host CPUs (sim/mcus/linux_process.py);
- G-code input read by a reactor timer in 4096-byte chunks like
  Klipper's input (sim/simulate/feed.py: plain G0/G1 lines run in C,
  each line charged to the main thread), throttled by
  the toolhead (_check_pause: about 1 s of motion ahead); with a
  [virtual_sdcard] section the input is the SD-card file of
  SDCARD_PRINT_FILE, read 8192 bytes at a time by the aio executor thread
  (sim/simulate/aio.py) while the reactor callback waits;
- a get_clock query per MCU every 0.9839 s (FACTS 2.4) answered through
  its link and handled in its serialhdl thread, where it feeds the
  host's clock regression of that MCU (clocksync.py;
  SimOptions.clock_sync="exact" gives the host the true MCU clocks).
- the other responses (analog_in_state) handled in each MCU's serialhdl
  thread by the host's objects (heater control, whose PWM updates go from
  there to that MCU's serial queue), and a thermal plant per heater
  (sim/mcus/thermal.py) that the firmware's heater pins heat and its ADC reads.
It runs the kernel until the firmware shut down or the print finished
(input done, link idle, MCU past the last scheduled clock) and returns a
SimResult whose `report()` is the JSON verdict (sim/simulate/report.py).
"""
from dataclasses import dataclass, field


from ...gcode.dispatch import Dispatcher
from ...host.configfile import load_config, ConfigError
from ...host.mcu import mcu_sections
from ...host.printer import Printer
from .aio import AioExecutor
from .feed import GcodeFeed
from ..hostcpu.costs import CostModel
from ..hostcpu.cpu import HostCPU
from .host_threads import LoggerThread, MainThread, SimLink, StepGenThread
from ..kernel.events import NS_PER_MS, NS_PER_S
from ..mcus.linux_names import HOST_MCU_SERIAL, LINUX_PROFILE
from ..hostcpu.load import load_scenario
from ..hostcpu.machine import load_machine
from .mcu_link import McuLink, McuSettings, McuSetupError
from ..hostcpu.policy import load_policy
from .reactor import ReactorLivelock, SimReactor
from ..link.messages import HEATER, PINS
from ..link.serial_link import MIN_REQTIME_DELTA
from ..mcus.thermal import Thermals, plants_for
GET_CLOCK_PERIOD = 0.9839      # clocksync.py query period (FACTS 2.4)
STARTUP_QUERIES = 8            # clocksync connect: 8 get_clock 50 ms apart (FACTS 2.4)
STARTUP_SPACING = 0.050        # (modelled for secondary MCUs; the main MCU's
                               # estimate starts from its exact connect reading)
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
    poll_ms: float = 5.0           # when the MCU's own reports are noticed (firmware_node)
    clock_offset: int = 0
    drift_ppb: int = 0
    clock_sync: str = "regression"  # or "exact" (host knows the MCU clock)
    fault_drop: float = 0.         # per byte, both directions
    fault_corrupt: float = 0.      # per byte, both directions
    flow_control: bool = True      # host keeps to the MCU's receive window (what-if: off)
    fast_retransmit: bool = True   # resend at once on a nak (what-if: off, RTO only)
    costs: CostModel = field(default_factory=CostModel)
    record_stream: bool = False
    keep_pulses: bool = True       # result.pulses holds every pulse
    on_pulses: object = None       # f(pulses, pin_names) per executed chunk
    progress: object = None        # f(sim_seconds) called every run slice
    max_sim_s: float | None = None
    mcus: dict = field(default_factory=dict)   # [mcu NAME] -> McuSettings
    g1_fast: bool = True           # plain G0/G1 lines in C (same results; off: Python)


@dataclass
class SimResult:
    options: SimOptions
    clock_freq: int
    end_ns: int
    shutdown: dict | None
    margins: object               # mcu_node.Margins
    host_report: dict
    link: object                  # serial_link.LinkStats
    pulses_of: object             # () -> numpy PULSE_DTYPE array (if kept): `pulses`
    pulse_counts: dict            # step pin -> {"steps", "net"}
    pin_names: dict
    stream: list | None           # (name, args) the host sent, in order
    gcode_errors: int
    print_time: float
    segments: int
    responses: int
    mcus: dict | None = None      # with several MCUs: name -> per-MCU results
    gcode_error_lines: list = field(default_factory=list)   # "file:line: message"
    timeline: dict = field(default_factory=dict)   # what --plot draws (_timeline)
    gcode_warning_lines: list = field(default_factory=list)  # "file:line: message"
    object_names: dict = field(default_factory=dict)  # MCU name -> {oid: config section}

    @property
    def pulses(self):
        """The main MCU's executed pulses (joined on first use)."""
        return self.pulses_of()


class Simulation:
    def __init__(self, gcode_path, config_path, options):
        self.options = o = options
        if o.clock_sync not in ("exact", "regression"):
            raise SimulateError("clock_sync must be 'exact' or 'regression', not %r"
                                % (o.clock_sync,))
        self.host = HostCPU(load_machine(o.board), load_policy(o.policy),
                            load_scenario(o.load) if o.load else None, o.seed)
        self.kernel = self.host.kernel
        config = load_config(config_path)
        self.links = self._make_links(config)
        main = self.links["mcu"]
        # the main MCU under the names the single-MCU code used
        self.fw, self.clock, self.clock_source = main.fw, main.clock, main.clock_source
        self.dictionary = main.dictionary
        self._build_host(gcode_path, config)
        self._build_threads()
        self.stop_reason = None
        self.shutdown_mcu = None
        self.pin_names = main.pin_names
        self.counts = main.counts

    def _make_links(self, config):
        """One McuLink per MCU section (main first), each with its profile
        and clock settings (SimOptions.mcus by name; the main MCU falls
        back to SimOptions.profile / clock_offset / drift_ppb)."""
        o = self.options
        sections = mcu_sections(config)
        names = [n for n, _ in sections]
        for name in sorted(o.mcus):
            if name not in names:
                raise SimulateError("MCU '%s' given a profile or clock, but %s has no "
                                    "[mcu %s] section" % (name, config.path, name))
        if "mcu" not in names:
            raise SimulateError("%s: Section 'mcu' must be specified" % (config.path,))
        sections.sort(key=lambda ns: ns[0] != "mcu")      # main first, then file order
        links = {}
        for name, section in sections:
            settings = o.mcus.get(name)
            if name == "mcu" and settings is None:
                settings = McuSettings(o.profile, o.clock_offset, o.drift_ppb)
            settings = settings or McuSettings()
            profile = settings.profile or self._default_profile(name, section)
            try:
                links[name] = McuLink(name, profile, settings, o,
                                      secondary_of=links.get("mcu"))
            except (KeyError, McuSetupError) as e:
                raise SimulateError("%s: [%s]: %s" % (section.location(), section.name,
                                                      e.args[0] if e.args else e)) from None
        return links

    def _default_profile(self, name, section):
        if section.get("serial", None) == HOST_MCU_SERIAL:
            return LINUX_PROFILE        # Klipper's Linux-process MCU
        if name == "mcu":
            return self.options.profile
        raise SimulateError("%s: [%s]: no firmware profile for MCU '%s' (give --mcu %s=PROFILE)"
                            % (section.location(), section.name, name, name))

    def _build_host(self, gcode_path, config):
        self.reactor = SimReactor(self.kernel)
        self.link = SimLink()
        self.errors = []
        self.warnings = []
        self.dispatcher = Dispatcher(warning_sink=self.warnings.append,
                                     error_sink=self.errors.append,
                                     info_sink=lambda t: None)
        self.printer = Printer(config, {n: l.dictionary for n, l in self.links.items()},
                               self.link, self.clock_source, self.reactor, self.dispatcher,
                               mcu_clock_sources={n: l.clock_source
                                                  for n, l in self.links.items()})
        config.check_unused()
        self.sdcard = config.has_section("virtual_sdcard")
        self.printer.connect()
        self.link.meter.take()     # configuration is not charged
        self.feed = GcodeFeed(gcode_path, self.printer, self.dispatcher, self.link,
                              self.reactor, fast=self.options.g1_fast)
        self.reactor.register_timer(self._get_clock, self.reactor.NOW)
        self.reactor.register_timer(self._stats, STATS_PERIOD)
        for name in list(self.links)[1:]:     # each MCU's clock sync has its own timer
            self.reactor.register_timer(self._secondary_get_clock(self.printer.hw.mcus[name]),
                                        self.reactor.NOW)

    def _stats(self, eventtime):
        """Klipper's 1 s stats timer: collects every object's statistics
        and logs one "Stats" record (work charged, nothing sent); the
        MCUs' print time mappings are re-fitted (secondary MCUs)."""
        self.link.meter.extra_ns += self.options.costs.stats_ns
        self.link.meter.log_records += 1
        self.printer.calibrate_clocks(eventtime)
        self.printer.stats(eventtime)
        return eventtime + STATS_PERIOD

    def _get_clock(self, eventtime):
        self.link.send(self.printer.hw.main_mcu, "get_clock", {})
        return eventtime + GET_CLOCK_PERIOD

    def _secondary_get_clock(self, mcu):
        """A secondary MCU's get_clock timer: the start-up burst (its
        frequency is measured before the print needs it), then the
        regular period."""
        sent = [0]

        def query(eventtime):
            self.link.send(mcu, "get_clock", {})
            sent[0] += 1
            return eventtime + (STARTUP_SPACING if sent[0] < STARTUP_QUERIES
                                else GET_CLOCK_PERIOD)
        return query

    def _build_threads(self):
        o, host, costs = self.options, self.host, self.options.costs
        heaters = self.printer.heaters.heaters.values()
        tty = None
        for index, link in enumerate(self.links.values()):
            link.build_threads(host, o, tty, {h.pwm.oid for h in heaters
                                              if h.pwm.mcu.name == link.name},
                               lambda name=link.name: self._on_shutdown(name), index)
            tty = link.tty
        for name, link in self.links.items():
            mcu = self.printer.hw.mcus[name]
            link.serialhdl.attach_host(mcu, self.link, link.serialq)
            link.node.set_thermals(Thermals(link.fw, plants_for(self.printer, mcu, link.fw)))
        main = self.links["mcu"]
        self.thermals = main.node.thermals
        self.serialhdl, self.tty = main.serialhdl, main.tty
        self.node, self.serialq = main.node, main.serialq
        self.stepgens = {(s.mcu.name, s.oid): StepGenThread(host, costs, s.name)
                         for s in self.printer.motion.steppers}
        queues = {mcu: self.links[name].serialq for name, mcu in self.printer.hw.mcus.items()}
        self.main = MainThread(host, self.reactor, self.link, costs, queues, self.stepgens)
        self.main.logger = self.logger = LoggerThread(host, costs)
        if self.sdcard:           # SDCARD_PRINT_FILE: the file is read in an executor
            self.feed.aio = AioExecutor(host, costs)
        for mcu, messages in self.link.take().items():   # configuration commands
            queues[mcu].enqueue(messages)
        for link in self.links.values():
            link.node.start()

    # ---- running ----------------------------------------------------------------
    def _drain_pulses(self, final=False):
        """Executed pulses leave each firmware's buffer every DRAIN_SLICES
        run slices and at the end (numpy's per-call cost: not every slice);
        a firmware that only counted hands its counts over at the end."""
        for link in self.links.values():
            fw = link.fw
            before = fw.now + 1 if final else None
            if fw.pulses_ready(before):     # (none: no numpy array, start-up)
                link.drain_pulses(fw.take_pulses(before), self.options)
            if final:
                link.take_counts()

    def _on_shutdown(self, name="mcu"):
        self.stop_reason = "shutdown"
        self.kernel.request_stop()         # (run() stops at this slice's end)
        if self.shutdown_mcu is None:
            self.shutdown_mcu = name

    def _finished(self):
        if not self.feed.done:
            return False
        return all(link.finished(self.kernel.now, END_SLACK_S) for link in self.links.values())

    def _run_slices(self, origin, slices, limit):
        """Run the kernel to the end of the next run slice (they end at
        origin + k x RUN_SLICE_NS) after which a check in run() can act;
        returns the number of slices done. A check acts after every slice
        with a progress callback, once the input is done (the end), at the
        first slice end at or past the time limit, every DRAIN_SLICES
        (drain, stall check) and after a shutdown; until then the slices
        run as one kernel run, which the input's end or a shutdown stops
        (Kernel.request_stop) so the slice they came in ends as before."""
        n = 1
        if self.options.progress is None and not self.feed.done:
            n = DRAIN_SLICES - slices % DRAIN_SLICES
            if limit is not None:      # (the limit's slice: ceil division)
                n = max(1, min(n, -(-(limit - origin) // RUN_SLICE_NS) - slices))
        kernel = self.kernel
        if kernel.run(until=origin + (slices + n) * RUN_SLICE_NS, stoppable=True):
            slices = (kernel._vs.now - origin) // RUN_SLICE_NS + 1   # the one it stopped in
            kernel.run(until=origin + slices * RUN_SLICE_NS)
            return slices
        return slices + n

    def _blocks_sent(self, stats):
        """Blocks sent over every link so far (`stats`: their LinkStats):
        the stall check's measure of progress."""
        return sum(s.blocks for s in stats)

    def run(self):
        kernel, progress = self.kernel, self.options.progress
        vs = kernel._vs                 # (kernel.now without the property, per slice)
        limit = int(self.options.max_sim_s * NS_PER_S) if self.options.max_sim_s else None
        stats = [link.serialq.stats for link in self.links.values()]
        self.feed.on_done = kernel.request_stop   # the end checks begin (_run_slices)
        last_sent, last_change = -1, 0
        origin, slices = vs.now, 0
        while self.stop_reason is None:
            slices = self._run_slices(origin, slices, limit)
            now = vs.now
            if slices % DRAIN_SLICES == 0:
                self._drain_pulses()
                # the stall check, once per drain (a bug detector: the
                # second it fires in need not be exact)
                sent = self._blocks_sent(stats)
                if sent != last_sent:
                    last_sent, last_change = sent, now
                elif now - last_change > STALL_LIMIT_NS:
                    raise SimulateError("simulation made no progress for %d s at %.3f s "
                                        "(a klipsim bug)" % (STALL_LIMIT_NS // NS_PER_S,
                                                             now / NS_PER_S))
            if progress is not None:
                progress(now / NS_PER_S)
            if self._finished():
                for link in self.links.values():
                    link.node.advance()
                if self.stop_reason is None:
                    self.stop_reason = "finished"
                break
            if limit is not None and now >= limit:
                self.stop_reason = "time limit"
                break
        if self.stop_reason == "shutdown":
            self.shutdown_info = self._shutdown_info()
            kernel.run(until=kernel.now + SHUTDOWN_TAIL_NS)
        else:
            self.shutdown_info = None
        for link in self.links.values():
            link.node.stop()
        return self._result()

    def _shutdown_info(self):
        link = self.links[self.shutdown_mcu]
        reason, clock = link.node.shutdown
        t_ns = link.clock.time_ns(clock)
        late, stage = self._late_command(link)
        klass = self._deadline_class(link)
        if stage is None and klass == HEATER:
            stage = "serialhdl"       # a heater refresh that never came
        elif stage is None and link.is_linux:
            stage = "linux_mcu"       # its own timers ran late (late-repeat rule)
        return {"reason": reason, "mcu": link.name, "clock": clock,
                "time_s": round(t_ns / NS_PER_S, 6),
                "gcode_line": self.feed.line_at(t_ns),
                "late_command": late,
                "deadline_class": klass,
                "starved_thread": self._starved_thread(stage, link)}

    @staticmethod
    def _deadline_class(link):
        """The deadline class the shutdown came from: the first late
        command's, or the pin whose max_duration ran out."""
        oid = link.node.missed_update_oid()
        if oid is not None:
            return HEATER if oid in link.serialq.heater_oids else PINS
        if link.node.first_late is not None:
            return link.node.first_late[0].klass
        return None

    def _late_command(self, link):
        """The first command that reached the MCU after its clock, and
        which stage held it: the host produced it too late to be sent
        MIN_REQTIME_DELTA ahead ("main": main thread or step generation;
        "serialhdl" for heater updates, which that thread sends),
        or it was queued in time and a later hop held it (_transit_stage)."""
        if link.node.first_late is None:
            return None, None
        msg, sent_ns, arrival_ns, tty_ns = link.node.first_late
        freq = link.clock.freq
        due_ns = link.clock.time_ns(msg.sched)
        send_by_ns = due_ns - int(MIN_REQTIME_DELTA * NS_PER_S)
        # heater updates come from serialhdl (their init value, queued at
        # connect, time 0, from the main thread)
        producer = "serialhdl" if msg.klass == HEATER and msg.queued_ns else "main"
        stage = producer if msg.queued_ns > send_by_ns else \
            self._transit_stage(link, msg.queued_ns, send_by_ns, sent_ns, tty_ns, arrival_ns)
        return {"name": msg.name, "oid": msg.args.get("oid"),
                "margin_ms": round((msg.sched - link.clock.clock(arrival_ns)) * 1000. / freq, 4),
                "due_s": round(due_ns / NS_PER_S, 6),
                "queued_s": round(msg.queued_ns / NS_PER_S, 6),
                "sent_s": round(sent_ns / NS_PER_S, 6),
                "held_by": stage}, stage

    def _transit_stage(self, link, queued_ns, send_by_ns, sent_ns, tty_ns, arrival_ns):
        """The hop that held a command queued in time, following the data
        (FACTS 8): "serialq" (the serial thread sent it late), unless what
        held the serial thread was acks (12 blocks or the receive window
        waiting on them) and the tty kworker that brings them back waited
        longer for a CPU than the serial thread; on a
        pseudo-tty "kworker" when the kworker passed the written block on
        late; "linux_mcu" when a Linux-process MCU took it late. Ties go
        to the serial thread."""
        serialq = link.serialq
        hops = {"serialq": sent_ns - max(queued_ns, send_by_ns)}
        own_wait = self._recent_wait(serialq.thread) + TIE_NS
        if serialq.recent_ack_stall(self.kernel.now) > own_wait and \
                self._recent_wait(self.tty.thread) > own_wait:
            hops["kworker"] = hops.pop("serialq")     # (not a slow wire's acks)
        if tty_ns:
            hops["kworker"] = max(hops.get("kworker", 0), tty_ns - sent_ns)
        if link.is_linux:
            hops["linux_mcu"] = arrival_ns - (tty_ns or sent_ns)
        return max(hops, key=lambda k: hops[k])

    def _recent_wait(self, t):
        """A thread's longest recent wait for a CPU or the GIL (ns): the
        one going on now or among its last RECENT_WAITS completed ones."""
        now = self.kernel.now
        waits = [max(w[-RECENT_WAITS:]) for w in (t.runq_waits, t.wake_latencies,
                                                  t.gil_waits) if w]
        if t.index in self.host.gil._wait_since:
            waits.append(now - self.host.gil._wait_since[t.index])
        if t.state == "runnable" and self.host.sched.running_on(t.core) is not t:
            waits.append(now - t.runnable_since)
        return max(waits, default=0)

    def _starved_thread(self, stage=None, link=None):
        """The Klipper thread with the longest recent wait for a CPU or the
        GIL: the wait going on now, or among its last RECENT_WAITS completed
        ones (the shutdown is seen when the late command arrives, i.e. just
        after the starvation ended). With the stage that held the late
        command known, only that stage's threads are candidates."""
        link = link or self.links["mcu"]
        stages = {
            "main": [self.main.thread] + [s.thread for s in self.stepgens.values()],
            "serialq": [link.serialq.thread],
            "kworker": [self.tty.thread],       # written bytes or acks waited there
            "linux_mcu": [link.node.thread] if link.is_linux else [],
            # the heater path: report read (serialq, tty) -> serialhdl
            "serialhdl": [link.serialhdl.thread, link.serialq.thread, self.tty.thread],
        }
        klipper = stages.get(stage) or (
            [self.main.thread, link.serialq.thread, link.serialhdl.thread,
             self.logger.thread, self.tty.thread] + [s.thread for s in self.stepgens.values()]
            + ([link.node.thread] if link.is_linux else []))
        best, best_wait = None, 0
        for t in klipper:
            wait = self._recent_wait(t)
            # the stage's own thread (listed first) wins near-ties
            if wait > best_wait + (TIE_NS if best is not None else 0):
                best, best_wait = t.name, wait
        return None if best is None else {"name": best, "waiting_ms": round(best_wait / 1e6, 3)}

    def _result(self):
        o = self.options
        self._drain_pulses(final=True)
        main = self.links["mcu"]
        counts = {}
        for link in self.links.values():
            counts.update(link.counts.as_dict())
        return SimResult(o, self.fw.clock_freq, self.kernel.now, self.shutdown_info,
                         self.node.margins, self.host.report(), self.serialq.stats,
                         main.pulses, counts, self.pin_names, self.serialq.record, len(self.errors),
                         self.feed.print_time if self.feed.done else self.printer.toolhead.print_time,
                         self.main.segments,
                         sum(link.serialhdl.handled for link in self.links.values()),
                         self._mcu_results(), list(self.errors), self._timeline(),
                         gcode_warning_lines=list(self.warnings),
                         object_names=object_names(self.printer))

    def _timeline(self):
        """Per second: each thread's longest run-queue wait (ns); per
        deadline class: the first arrival of its smallest margin (main
        MCU) with the G-code line being read then."""
        where = {}
        freq = self.fw.clock_freq
        for klass, (ticks, at_ns) in sorted(self.node.margins.minimum_at.items()):
            where[klass] = {"margin_ms": ticks * 1000. / freq, "time_s": at_ns / NS_PER_S,
                            "gcode_line": self.feed.line_at(at_ns)}
        waits = {}
        now = self.kernel.now
        for t in self.host.sched.threads:
            waits[t.name] = dict(t.runq_wait_by_s)
            if t.state == "runnable" and self.host.sched.running_on(t.core) is not t:
                second = now // NS_PER_S        # a wait still going on at the end
                waits[t.name][second] = max(waits[t.name].get(second, 0),
                                            now - t.runnable_since)
        return {"runq_wait_by_s": waits, "min_margin_at": where}

    def _mcu_results(self):
        """Per-MCU figures when there is more than one MCU or a Linux MCU
        (None keeps the single-MCU report as it was)."""
        links = self.links.values()
        if len(self.links) == 1 and not self.links["mcu"].is_linux:
            return None
        return {link.name: {"profile": link.profile, "clock_freq": link.clock.freq,
                            "clock_offset": link.clock.offset,
                            "drift_ppb": link.clock.drift_ppb,
                            "transport": link.transport,
                            "margins": link.node.margins, "link": link.serialq.stats,
                            "pulses": link.pulses(), "clock": link.clock,
                            "pin_names": link.pin_names, "stream": link.serialq.record,
                            "linux": link.node.late_report() if link.is_linux else None}
                for link in links}


def object_names(printer):
    """MCU name -> {oid: config section} for the steppers and for the MCU
    objects (pins, sensors, endstops) a section's object holds directly,
    so a report can name `stepper_x` or `heater_bed`, not only oid 7."""
    names = {}

    def note(mcu_object, section):
        mcu, oid = getattr(mcu_object, "mcu", None), getattr(mcu_object, "oid", None)
        if isinstance(oid, int) and hasattr(mcu, "name"):
            names.setdefault(mcu.name, {}).setdefault(oid, section)
    for stepper in printer.motion.steppers:
        note(stepper, stepper.name)
    for section, obj in sorted(printer.objects.items()):
        for value in list(getattr(obj, "__dict__", {}).values()):
            note(value, section)
    return {mcu: dict(sorted(oids.items())) for mcu, oids in sorted(names.items())}


def simulate(gcode_path, config_path, options=None):
    try:
        return Simulation(gcode_path, config_path, options or SimOptions()).run()
    except KeyError as e:
        raise SimulateError(str(e.args[0]) if e.args else str(e)) from None
    except ReactorLivelock as e:
        raise SimulateError(str(e)) from None


__all__ = ["simulate", "SimOptions", "SimResult", "SimulateError", "ConfigError"]
