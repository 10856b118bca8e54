"""One simulated MCU and everything the host keeps per MCU.

Contract: `McuLink(name, profile, settings, options, host, secondary_of)`
bundles, for one `[mcu]` / `[mcu NAME]` section of printer.cfg:
- the firmware instance (handshaken with get_config: `move_count`), on
  its own clock (`McuClock`: nominal CLOCK_FREQ, offset ticks at host
  time 0, drift in ppb);
- the host's estimate of that clock (`estimate`: Klipper's regression
  over get_clock replies, or the exact clock with clock_sync="exact") and
  the clock source the host's MCU object uses (`clock_source`): the
  estimate itself for the main MCU, a `SecondarySync` onto the main MCU's
  estimate for every other MCU (print time is the main MCU's clock,
  FACTS 2.4);
- after `build_threads(...)`: its serialhdl thread, serial queue (own
  serialqueue thread, wire, move-slot mirror and, on a UART, the receive
  window the firmware's dictionary declares, as Klipper's serialhdl
  learns RECEIVE_WINDOW from the identify data) and McuNode (or, for a
  Linux-process MCU, the LinuxMcuProcess on the host CPUs); the tty
  kworker is shared by every MCU (one flip-buffer worker serves all
  ttys);
- its own pulse counts (`counts`) and pin names; a secondary MCU's pins
  are reported as "NAME:pin".
`handle_clock(args)` is the serialhdl handler of its get_clock replies.
"""
from dataclasses import dataclass

from klipsim.lazy import default_rng, numpy as np

from ...firmware.simulator import mcu as fwmcu
from ...host.mcu import extend_clock32
from ..link.clocksync import (ExactClockSource, McuClock, RegressionClockSource,
                        SecondarySync, SerialQueueClock)
from .host_threads import SerialHdlThread, TtyWorker
from ..kernel.events import NS_PER_MS
from ..link.faults import LineFaults
from ..mcus.linux_names import LINUX_PROFILE
from ..mcus.linux_process import LinuxMcuProcess
from ..mcus.firmware_node import McuNode
from .report import PulseCounts
from ..link.serial_link import SerialQueue
from ..link.wire import Wire

FAULT_STREAM = 0xFA17           # second key of the faults' seed sequence


class McuSetupError(Exception):
    """A per-MCU setting the simulation cannot use (one line)."""


@dataclass
class McuSettings:
    """Per-MCU simulation settings (SimOptions.mcus[NAME]); None keeps
    the run-wide value (SimOptions.transport / baud)."""
    profile: str | None = None
    clock_offset: int = 0          # MCU ticks counted at host time 0
    drift_ppb: int = 0             # clock rate error, parts per billion
    transport: str | None = None   # uart | usb | pty
    baud: int | None = None


def handshake(fw):
    """get_config before the run: the move queue size (as the host learns
    it from the 'config' response)."""
    fw.send(("get_config", {}))
    for name, args in fw.responses():
        if name == "config":
            return args["move_count"]
    raise McuSetupError("firmware %s did not answer get_config" % fw.profile)


class McuLink:
    def __init__(self, name, profile, settings, options, secondary_of=None):
        self.name = name
        self.profile = profile
        self.settings = settings
        self.is_linux = profile == LINUX_PROFILE
        if self.is_linux and (settings.drift_ppb or settings.clock_offset):
            raise McuSetupError("a Linux-process MCU counts the host's own clock "
                                "(no clock drift or offset)")
        self.fw = fwmcu.Firmware(profile)
        self.move_count = handshake(self.fw)
        if settings.clock_offset:
            self.fw.run_until(settings.clock_offset)
        self.clock = McuClock(self.fw.clock_freq, settings.clock_offset, settings.drift_ppb)
        if options.clock_sync == "exact":
            self.estimate = ExactClockSource(self.clock)
            self.queue_clock = self.clock
        else:
            # A secondary MCU's connect follows its start-up get_clock
            # burst, which measured its rate (FACTS 2.4): its estimate
            # starts from the true rate; the main MCU's keeps the nominal
            # start it always had.
            freq0 = None if secondary_of is None else \
                self.clock.freq * (1e9 + self.clock.drift_ppb) / 1e9
            self.estimate = RegressionClockSource(self.fw.clock_freq, 0., self.clock.clock(0),
                                                  freq0)
            self.queue_clock = SerialQueueClock(self.estimate)
        if secondary_of is None:
            self.clock_source = self.estimate
        else:
            self.clock_source = SecondarySync(secondary_of.estimate, self.estimate)
            self.clock_source.connect(0.)
        self.dictionary = self.fw.dictionary
        prefix = "" if secondary_of is None else name + ":"
        self.pin_names = {v: prefix + k for k, v in sorted(self.dictionary.pins.items())}
        self.counts = PulseCounts(self.pin_names)
        self.pulse_chunks = []
        self.fw_counts = False      # the firmware counts the steps (count_pulses_only)
        self.transport = "pty" if self.is_linux else (settings.transport or options.transport)
        self.baud = settings.baud or options.baud

    # ---- threads ----------------------------------------------------------------
    def build_threads(self, host, options, tty, heater_oids, on_shutdown, index):
        """The serialhdl thread, the tty kworker (when `tty` is None: the
        first MCU creates it), the node and the serial queue, in this
        order (thread creation order is part of the deterministic run)."""
        o, costs = options, options.costs
        self.serialhdl = SerialHdlThread(host, costs, self.name)
        if tty is None:
            tty = TtyWorker(host, costs)
        self.tty = tty
        # Faults draw from their own stream of the seed: enabling them
        # leaves the load scenario's phases where they were. (The main
        # MCU keeps the stream it always had; others get their own.)
        key = [o.seed, FAULT_STREAM] + ([index] if index else [])
        fault_rng = default_rng(key)
        self.faults = [LineFaults(fault_rng, o.fault_drop, o.fault_corrupt) for _ in range(2)]
        def deliver_to_host(data):     # through the kworker to this serial queue
            tty.push(data, self.tty_target)
        if self.is_linux:
            self.node = LinuxMcuProcess(host, costs, self.fw, self.clock, deliver_to_host,
                                        on_shutdown=on_shutdown, faults=self.faults[1])
        else:
            self.node = McuNode(host.kernel, self.fw, self.clock, Wire(self.transport, self.baud),
                                deliver_to_host, int(o.poll_ms * NS_PER_MS),
                                on_shutdown=on_shutdown, faults=self.faults[1])
        self.count_pulses_only(o)
        window = self.uart_window()
        if window:
            self.fw.set_rx_buffer(window)
        self.serialq = SerialQueue(host, self.name, self.dictionary, self.queue_clock, self.node,
                                   Wire(self.transport, self.baud), costs, self.move_count,
                                   heater_oids, self.serialhdl.push,
                                   record=[] if o.record_stream else None,
                                   faults=self.faults[0],
                                   receive_window=window if o.flow_control else None,
                                   fast_retransmit=o.fast_retransmit)
        self.tty_target = tty.target(self.serialq)
        # responses the serial queue's native program reads in C reach the
        # serialhdl thread's inbox too, in order (sim/link/native_responses.py)
        self.serialhdl.inbox = self.serialq.native_inbox(self.serialhdl.inbox,
                                                         self.serialhdl.signal)
        if hasattr(self.node, "set_output_sink"):
            # the node's C output events push to the kworker in C, as
            # deliver_to_host does from its Python paths
            self.node.set_output_sink(*tty.sink(self.tty_target))
        self.node.rx_stats = self.serialq.stats
        self.serialq.set_host_seq(self.fw.host_seq)
        if self.transport == "pty":
            self.serialq.tty_out = tty
        if isinstance(self.estimate, RegressionClockSource):
            self.serialhdl.handlers["clock"] = self.handle_clock

    def uart_window(self):
        """The MCU's receive window on a UART: its dictionary's
        RECEIVE_WINDOW, the size of its receive buffer (FACTS 2.5). USB
        CDC and a pseudo-tty declare none: their transport holds data
        back instead of losing it."""
        if self.transport != "uart":
            return None
        window = self.dictionary.constant("RECEIVE_WINDOW")
        return int(window) if window else None

    def handle_clock(self, args):
        """serialhdl: a get_clock reply feeds the host's clock regression."""
        if "sent_ns" not in args:
            return
        est = self.estimate
        received = args["received_ns"] / 1e9
        clock = extend_clock32(args["clock"], est.estimated_clock(received))
        est.sample(args["sent_ns"] / 1e9, received, clock)

    # ---- pulses -------------------------------------------------------------------
    def count_pulses_only(self, options):
        """A run that neither keeps pulses nor passes them on: the
        firmware counts steps per pin itself and records none
        (take_counts brings the totals into `counts` at the end)."""
        self.fw_counts = not options.keep_pulses and options.on_pulses is None
        self.fw.set_pulse_counting(self.fw_counts)

    def take_counts(self):
        """The end of the run: the firmware's own step counts, if any."""
        if self.fw_counts:
            self.counts.add_totals(*self.fw.pulse_counts())
            self.fw_counts = False

    def drain_pulses(self, pulses, options):
        """Executed pulses, as they leave the firmware's buffer:
        counted, passed on, kept only when asked (a long print has tens of
        millions)."""
        if not len(pulses):
            return
        self.counts.add(pulses)
        if options.on_pulses is not None:
            options.on_pulses(pulses, self.pin_names)
        if options.keep_pulses:
            self.pulse_chunks.append(pulses)

    def pulses(self):
        """Every kept pulse as one array, joined when first asked for (a
        long print's take about a second to join: a run whose caller
        never reads them does not pay it)."""
        if len(self.pulse_chunks) != 1:
            self.pulse_chunks = [np.concatenate(self.pulse_chunks) if self.pulse_chunks
                                 else np.empty(0, dtype=fwmcu.PULSE_DTYPE)]
        return self.pulse_chunks[0]

    # ---- end of run ------------------------------------------------------------------
    def finished(self, now_ns, slack_s):
        """The serial queue is empty and the MCU is past its last
        scheduled clock (plus slack)."""
        if not self.serialq.idle:
            return False
        end = self.node.last_sched_clock + int(slack_s * self.clock.freq)
        return self.clock.clock(now_ns) >= end
