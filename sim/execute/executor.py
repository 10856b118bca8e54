"""Execute an MCU command stream on klipsim's simulated firmware.

Contract: `execute_stream(path, stream_dictionary, profile)` decodes a
command stream (parsedump text or binary blocks) with the stream's
dictionary, re-encodes every command with OUR firmware's dictionary (pins
mapped by name), and delivers it to a `Firmware` instance the way
Klipper's host would (KLIPPER-FACTS 2.5, 2.6, 2.8):
- when each message is sent is klipsim.sim.execute.delivery's plan (a lead before
  its requested clock, per-object order, never overflowing the MCU move
  queue); messages planned within PACK_WINDOW_S share blocks;
- the MCU's move_count comes from its `config` response, after the
  dictionary was fetched with `identify` and checked;
- every trsync_state report of an armed trsync is answered with
  trsync_set_timeout = report clock + the stream's own timeout, as the
  host's trdispatch does (batch-mode streams never do); endstops never
  trigger (each homing pin reads the non-trigger level), so homing moves
  run their full travel.
Then it runs the firmware past the last scheduled event (by the longest
max_duration, so an output left on trips its check) and
returns the executed step pulses (via a callback, in chunks sorted by
clock then pin name) and what happened.  Everything is integer MCU ticks;
the result depends only on the inputs.
"""
import bisect
from dataclasses import dataclass, field

import numpy as np

from klipsim.chelper import msgproto, streamio
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.execute.delivery import DeliveryError, DeliveryPlanner, extend_clock
from klipsim.sim.mcus.world_inputs import SimulatedInputs
from klipsim.sim.execute.stream_check import StreamInputError, check_ints, queue_step_ok, unconfigured

PACK_WINDOW_S = 0.010        # messages ready within 10 ms share a block
REORDER_HORIZON_S = 10.0     # stream disorder across objects tolerated
REORDER_BATCH = 4096         # messages between sorts of the reorder buffer
END_MARGIN_S = 0.001         # run this long past the last scheduled event
# messages that change the simulated world before they are sent
WORLD_CHANGES = frozenset(("endstop_home", "query_analog_in"))
IDENTIFY_CHUNK = 40          # serialhdl fetches the dictionary 40 bytes at a time


class ExecuteError(Exception):
    """A stream that cannot be executed (one line, for the user)."""


@dataclass
class StepperSummary:
    step_pin: str
    steps: int = 0
    net: int = 0                 # dir=1 steps minus dir=0 steps
    first_clock: int = -1
    last_clock: int = -1


@dataclass
class ExecuteResult:
    profile: str
    clock_freq: int
    messages: int = 0
    blocks: int = 0
    end_clock: int = 0
    shutdown_reason: str | None = None
    shutdown_clock: int | None = None
    margins: dict = field(default_factory=dict)   # message name -> worst deadline - delivery
    trsync_extensions: int = 0
    trsync_triggers: list = field(default_factory=list)   # (oid, reason, clock)
    late_groups: int = 0                  # groups delivered after their planned clock
    zero_clock_fixes: int = 0
    responses: int = 0
    steppers: dict = field(default_factory=dict)   # step pin -> StepperSummary
    timer_dispatches: int = 0

    @property
    def total_steps(self):
        return sum(s.steps for s in self.steppers.values())

    @property
    def min_margin_ticks(self):
        """Worst queue_step margin: first step clock - delivery clock."""
        return self.margins.get("queue_step")


# ---------------------------------------------------------------------------
# Profile choice
# ---------------------------------------------------------------------------

def profile_for_dictionary(dictionary):
    """Our firmware profile whose MCU matches the stream dictionary's."""
    for name in fwmcu.profile_names():
        if fwmcu.dictionary(name).mcu == dictionary.mcu:
            return name
    raise ExecuteError("no klipsim firmware profile for MCU %r (have: %s)"
                       % (dictionary.mcu, ", ".join(fwmcu.profile_names())))


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

class StreamExecutor:
    """Drives one Firmware instance through a command stream."""

    def __init__(self, profile, lead_s=0.5, on_pulses=None, stream_dictionary=None,
                 extend_trsync=True, wide_clocks=False):
        self.fw = fwmcu.Firmware(profile)
        self.our_dict = self.fw.dictionary
        self.inputs = SimulatedInputs(self.fw, int(self.our_dict.constant("ADC_MAX", 4095)))
        self.result = ExecuteResult(profile, self.fw.clock_freq)
        self.lead_ticks = int(round(lead_s * self.fw.clock_freq))
        self.pack_window = int(PACK_WINDOW_S * self.fw.clock_freq)
        self.on_pulses = on_pulses
        self.pin_names = {v: k for k, v in sorted(self.our_dict.pins.items())}
        self.pin_rank = self._pin_ranks()
        self.trsync_start = {}       # trsync oid -> report_clock (32-bit)
        self.trsync_timeout = {}     # trsync oid -> ticks from report to expiry
        self.stopped = False
        self.planner = None
        self.stream_dict = stream_dictionary
        self.extend_trsync = extend_trsync
        self.wide_clocks = wide_clocks     # jsonl: `clock` fields are 64-bit
        self.checked_formats = set()
        self.pending_output = False
        self.open_group = ([], [], [], [], None, 0, {})

    def _pin_ranks(self):
        ranks = np.zeros(max(self.pin_names) + 1 if self.pin_names else 1, dtype=np.int64)
        for rank, (number, _name) in enumerate(sorted(self.pin_names.items(),
                                                      key=lambda kv: kv[1])):
            ranks[number] = rank
        return ranks

    # -- handshake ------------------------------------------------------
    def handshake(self):
        """identify (whole dictionary, checked) and get_config."""
        blob, offset = b"", 0
        while True:
            self._send_now([("identify", {"offset": offset, "count": IDENTIFY_CHUNK})])
            data = self._expect("identify_response")["data"]
            if not data:
                break
            blob += data
            offset += len(data)
        if blob != fwmcu.dictionary_blob(self.result.profile):
            raise ExecuteError("firmware identify data differs from its dictionary")
        self._send_now([("get_config", {})])
        config = self._expect("config")
        self.planner = DeliveryPlanner(config["move_count"], self.lead_ticks,
                                       int(END_MARGIN_S * self.fw.clock_freq),
                                       wide_clocks=self.wide_clocks)

    def _send_now(self, messages):
        """Deliver messages at the current clock (handshake, reactions)."""
        ints, ends = [], []
        for name, args in messages:
            ints += self.fw.message_ints(name, args)
            ends.append(len(ints))
        blocks, output = self.fw.send_ints(ints, ends)
        self.pending_output |= output
        self.result.blocks += blocks

    def _expect(self, name):
        self.pending_output = False
        for got, args in self.fw.responses():
            if got == name:
                return args
        raise ExecuteError("firmware did not answer with %s" % name)

    # -- per message ------------------------------------------------------
    def prepare(self, name, args):
        """Side effects a message has on the simulated world, before it
        is sent (sensor levels) and on what the host tracks."""
        self.inputs.note(name, args)
        if name == "trsync_start":
            self.trsync_start[args["oid"]] = args["report_clock"]
        elif name == "trsync_set_timeout" and args["oid"] in self.trsync_start:
            delta = (args["clock"] - self.trsync_start[args["oid"]]) & 0xFFFFFFFF
            self.trsync_timeout[args["oid"]] = delta

    def check_format(self, name):
        """A command is ours only with the same name AND format string."""
        self.checked_formats.add(name)
        if self.stream_dict is None or name not in self.our_dict.commands:
            return
        try:
            theirs = self.stream_dict.lookup(name).msgformat
        except KeyError:         # the stream cannot hold it: nothing to check
            return
        ours = self.our_dict.commands[name].msgformat
        if theirs != ours:
            raise StreamInputError("%r in the stream's dictionary is %r in the klipsim "
                                   "firmware" % (theirs, ours))

    def encode(self, name, args):
        """The firmware's integers for a message, checked against its
        declared types (a jsonl clock is sent as its low 32 bits)."""
        if name not in self.checked_formats:
            self.check_format(name)
        if self.wide_clocks and "clock" in args:
            args = dict(args, clock=args["clock"] & 0xFFFFFFFF)
        try:
            ints = self.fw.message_ints(name, args)
        except KeyError as e:
            raise StreamInputError("%s not supported by the klipsim firmware (%s)"
                                   % (name, e.args[0])) from None
        except ValueError as e:
            raise StreamInputError(str(e)) from None
        check_ints(self.our_dict.lookup(name), ints)
        return ints

    # -- running ------------------------------------------------------------
    def run_to(self, clock):
        """Advance the firmware to `clock`, answering its reports."""
        while not self.stopped:
            if self.pending_output:
                self.handle_output()
            if not self.fw.run_until(clock, stop_on_output=True):
                return
            self.pending_output = True

    def handle_output(self):
        """Decode what the firmware sent: responses, then check that every
        block sent so far was acked (an empty block naming the next
        sequence; anything else would be a nak)."""
        self.pending_output = False
        last_ack = None
        for seq, payload in msgproto.split_blocks(self.fw.read_output()):
            if not payload:
                last_ack = seq
                continue
            for name, args in self.our_dict.decode(payload, "response"):
                self.result.responses += 1
                self.handle_response(name, args)
        if last_ack is not None and last_ack != self.fw.host_seq and not self.stopped:
            raise ExecuteError("firmware did not acknowledge block %d (nak)" % last_ack)

    def handle_response(self, name, args):
        if name == "shutdown" or name == "is_shutdown":
            reason = args["static_string_id"]
            self.result.shutdown_reason = reason if isinstance(reason, str) \
                else fwmcu.static_string(reason)
            self.result.shutdown_clock = self._clock64(args.get("clock", self.fw.shutdown_clock))
            self.stopped = True
        elif name == "trsync_state" and not args["can_trigger"]:
            # a homing sync fired: an endstop (never, here) or its timeout
            self.result.trsync_triggers.append(
                (args["oid"], args["trigger_reason"], self._clock64(args["clock"])))
        elif name == "trsync_state" and self.extend_trsync:
            oid = args["oid"]
            if oid in self.trsync_timeout:
                clock = (args["clock"] + self.trsync_timeout[oid]) & 0xFFFFFFFF
                self._send_now([("trsync_set_timeout", {"oid": oid, "clock": clock})])
                self.result.trsync_extensions += 1

    def _clock64(self, clock32):
        return extend_clock(clock32, self.fw.now)

    def drain_pulses(self, before=None):
        pulses = self.fw.take_pulses(before)
        if not len(pulses):
            return
        clock = pulses["clock"]
        if np.any(clock[1:] == clock[:-1]):     # same clock: order by pin name
            pulses = pulses[np.lexsort((self.pin_rank[pulses["pin"]], clock))]
        self._summarise(pulses)
        if self.on_pulses is not None:
            self.on_pulses(pulses, self.pin_names)

    def _summarise(self, pulses):
        pins = pulses["pin"].astype(np.int64)
        counts = np.bincount(pins)
        ups = np.bincount(pins, weights=pulses["dir"])
        for pin in np.flatnonzero(counts).tolist():
            mine = pins == pin
            name = self.pin_names.get(pin, "?%d" % pin)
            s = self.result.steppers.setdefault(name, StepperSummary(name))
            s.steps += int(counts[pin])
            s.net += 2 * int(ups[pin]) - int(counts[pin])
            if s.first_clock < 0:
                s.first_clock = int(pulses["clock"][np.argmax(mine)])
            s.last_clock = int(pulses["clock"][len(pins) - 1 - np.argmax(mine[::-1])])

    def execute(self, messages):
        """Send every (name, args) of the stream, then run to the end.

        Messages are planned in stream order, held in a reorder buffer and
        delivered in order of (planned clock, stream position); a message
        is let go once the plan has moved REORDER_HORIZON_S past it.  The
        buffer is sorted once REORDER_BATCH more messages came in (nearly
        sorted data: cheap)."""
        self.handshake()
        horizon = int(REORDER_HORIZON_S * self.fw.clock_freq)
        planner, pending, next_sort = self.planner, [], REORDER_BATCH
        qs_format = self.our_dict.lookup("queue_step")
        qs_id = qs_format.msgid
        self.check_format("queue_step")
        for index, (name, args) in enumerate(messages):
            try:
                if name == "queue_step":     # hot path: no side effects to prepare
                    ints = [qs_id, args["oid"], args["interval"], args["count"], args["add"]]
                    if not queue_step_ok(args):
                        check_ints(qs_format, ints)
                    ready = planner.plan_queue_step(args)
                    pending.append((ready, index, ints, None, None, planner.deadline))
                else:
                    ready = planner.plan(name, args)
                    pending.append((ready, index, self.encode(name, args), name, args,
                                    planner.deadline))
            except KeyError:
                raise unconfigured(name, args) from None
            if len(pending) >= next_sort:
                pending.sort()
                cut = bisect.bisect_left(pending, (planner.progress - horizon,))
                self.emit(pending[:cut])
                del pending[:cut]
                next_sort = len(pending) + REORDER_BATCH
                if self.stopped:
                    break
        self.result.messages = planner.planned
        pending.sort()
        self.emit(pending, final=True)
        if not self.stopped:
            if self.pending_output:
                self.handle_output()
            self.run_to(self.planner.end_clock)
        self.drain_pulses(self.fw.now + 1)
        self.finish()
        return self.result

    def emit(self, entries, final=False):
        """Send planned messages: those planned within PACK_WINDOW_S of a
        group's first form one group, sent at its latest planned clock and
        packed into as many blocks as it needs.  The last group stays open
        for the next call (unless `final`), so a message that comes late
        out of the reorder buffer joins it instead of going out late.  A
        message that changes the simulated world (a sensor level) first
        sends everything before it.  Margins (deadline - group clock) are
        recorded per message name."""
        window = self.pack_window
        ints, msg_ends, group_ends, clocks, first, clock, due = self.open_group
        for ready, _index, mints, name, args, deadline in entries:
            if name is not None:
                if name in WORLD_CHANGES:
                    if msg_ends:
                        self._close_group(group_ends, clocks, msg_ends, clock, due)
                        self.send_groups(ints, msg_ends, group_ends, clocks)
                        ints, msg_ends, group_ends, clocks, due = [], [], [], [], {}
                        first = None
                    if self.stopped:
                        return
                self.prepare(name, args)
            if first is None or ready > first + window:
                if first is not None:
                    self._close_group(group_ends, clocks, msg_ends, clock, due)
                    due = {}
                first = clock = ready
            ints += mints
            msg_ends.append(len(ints))
            if ready > clock:
                clock = ready
            if deadline is not None:
                key = name or "queue_step"
                if deadline < due.get(key, deadline + 1):
                    due[key] = deadline
        if final and msg_ends:
            self._close_group(group_ends, clocks, msg_ends, clock, due)
            due = {}
        # keep the open group (messages after the last closed group)
        cut = group_ends[-1] if group_ends else 0
        cut_ints = msg_ends[cut - 1] if cut else 0
        open_ints = ints[cut_ints:]
        open_ends = [e - cut_ints for e in msg_ends[cut:]]
        if group_ends:
            self.send_groups(ints[:cut_ints], msg_ends[:cut], group_ends, clocks)
        self.open_group = (open_ints, open_ends, [], [], first if open_ends else None,
                           clock, due)
        self.drain_pulses()

    def _close_group(self, group_ends, clocks, msg_ends, clock, due):
        group_ends.append(len(msg_ends))
        clocks.append(clock)
        margins = self.result.margins
        for key, deadline in due.items():
            margin = deadline - clock
            if key not in margins or margin < margins[key]:
                margins[key] = margin

    def send_groups(self, ints, msg_ends, group_ends, clocks):
        """Hand the groups to the firmware's link, answering its output
        whenever it stops for some."""
        batch = fwmcu.GroupBatch(ints, msg_ends, group_ends, clocks)
        done = 0
        while done < batch.count and not self.stopped:
            if self.pending_output or self.fw.tx_pending:
                self.handle_output()
                if self.stopped:
                    break
            done, blocks, late = self.fw.deliver_groups(batch, done)
            self.result.blocks += blocks
            self.result.late_groups += late
            self.pending_output = True

    def finish(self):
        r = self.result
        r.end_clock = self.fw.now
        if self.planner:
            r.zero_clock_fixes = self.planner.zero_clock_fixes
        r.timer_dispatches = self.fw.timer_dispatches
        if r.shutdown_reason is None and self.fw.is_shutdown:
            r.shutdown_reason = self.fw.shutdown_reason
            r.shutdown_clock = self._clock64(self.fw.shutdown_clock)
        if r.shutdown_reason is None and self.fw.pending_steps:
            raise ExecuteError("%d steps still queued at the end (clock %d)"
                               % (self.fw.pending_steps, r.end_clock))
        self.fw.close()


def execute_stream(path, stream_dictionary, profile=None, lead_s=0.5, on_pulses=None,
                   extend_trsync=True):
    """Execute the stream at `path` (decoded with `stream_dictionary`) on
    the firmware `profile` (default: the one for the dictionary's MCU).
    on_pulses(pulses, pin_names) receives the executed pulses in order.
    extend_trsync=False answers no trsync report (as batch mode).
    Errors in the stream are ExecuteError naming file:line."""
    profile = profile or profile_for_dictionary(stream_dictionary)
    try:
        wide = streamio.stream_kind(path) == "jsonl"
    except ValueError as e:
        raise ExecuteError(str(e)) from None
    executor = StreamExecutor(profile, lead_s=lead_s, on_pulses=on_pulses,
                              stream_dictionary=stream_dictionary,
                              extend_trsync=extend_trsync, wide_clocks=wide)
    position = streamio.Position()
    try:
        return executor.execute(streamio.read_stream(path, stream_dictionary, position))
    except ValueError as e:          # the reader's: names its place already
        raise ExecuteError(str(e)) from None
    except (StreamInputError, DeliveryError) as e:
        raise ExecuteError("%s: %s" % (position, e)) from None


class PulseCollector:
    """on_pulses callback that keeps every pulse (for tests and tools)."""

    def __init__(self):
        self.chunks = []
        self.pin_names = {}

    def __call__(self, pulses, pin_names):
        self.chunks.append(pulses)
        self.pin_names = pin_names

    @property
    def pulses(self):
        if not self.chunks:
            return np.empty(0, dtype=fwmcu.PULSE_DTYPE)
        return np.concatenate(self.chunks)


class PulseCsvWriter:
    """on_pulses callback writing `step_pin,clock,dir` lines to a file."""

    HEADER = b"step_pin,clock,dir\n"

    def __init__(self, f):
        self.f = f
        f.write(self.HEADER)

    def __call__(self, pulses, pin_names):
        self.f.write(fwmcu.format_pulses(pulses, pin_names))
