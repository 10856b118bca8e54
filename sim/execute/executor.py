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
The per-message work runs in C (sim/execute/core.py): step lines and
step blocks go from the reader's rows (streamio.read_rows) through the
planner, the reorder buffer, the groups and the firmware without
becoming Python objects; Python sees the other messages, output that
needs an answer, and the pulses when `on_pulses` asks for them.
Then it runs the firmware past the last scheduled event (by the longest
max_duration, so an output left on trips its check) and
returns the executed step pulses (via a callback, in chunks sorted by
clock then pin name) and what happened.  Everything is integer MCU ticks;
the result depends only on the inputs.
"""
from dataclasses import dataclass, field

from klipsim.lazy import numpy as np

from klipsim.chelper import msgblock, streamio
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.firmware.simulator._fwsim import ffi, lib
from klipsim.sim.execute.core import ExecCore
from klipsim.sim.execute.delivery import DeliveryError, extend_clock
from klipsim.sim.mcus.world_inputs import NOTED, SimulatedInputs
from klipsim.sim.execute.stream_check import StreamInputError, check_ints, queue_step_ok, unconfigured

PACK_WINDOW_S = 0.010        # messages ready within 10 ms share a block
REORDER_HORIZON_S = 10.0     # stream disorder across objects tolerated
REORDER_BATCH = 4096         # messages between releases of the reorder buffer
END_MARGIN_S = 0.001         # run this long past the last scheduled event
# messages that change the simulated world before they are sent
WORLD_CHANGES = frozenset(("endstop_home", "query_analog_in"))
# messages Python sees when they are sent (prepare): world inputs, trsync
PREPARED = NOTED | {"trsync_start", "trsync_set_timeout"}
# responses the host answers or records (the rest are only counted)
LOUD_RESPONSES = ("shutdown", "is_shutdown", "trsync_state")
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
        self.on_pulses = on_pulses
        self.pin_names = {v: k for k, v in sorted(self.our_dict.pins.items())}
        self.pin_rank = self._pin_ranks()
        self.trsync_start = {}       # trsync oid -> report_clock (32-bit)
        self.trsync_timeout = {}     # trsync oid -> ticks from report to expiry
        self.stopped = False
        self.core = None
        self.stream_dict = stream_dictionary
        self.extend_trsync = extend_trsync
        self.wide_clocks = wide_clocks     # jsonl: `clock` fields are 64-bit
        self.checked_formats = set()
        self.margin_keys = {"queue_step": 0}   # message name -> ExecCore margin key
        self.prepared = {}                     # id -> (name, args) for prepare()
        self.prepared_count = 0

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
        self.core = self._new_core(config["move_count"])

    def _new_core(self, move_count):
        freq = self.fw.clock_freq
        self.qs_format = self.our_dict.lookup("queue_step")
        try:
            sd_id = self.our_dict.lookup("set_next_step_dir").msgid
        except KeyError:
            sd_id = -1
        sd_ok = sd_id >= 0 and self._format_error("set_next_step_dir") is None
        core = ExecCore(move_count, self.lead_ticks, int(END_MARGIN_S * freq),
                        self.wide_clocks, int(PACK_WINDOW_S * freq),
                        int(REORDER_HORIZON_S * freq), REORDER_BATCH,
                        self.qs_format.msgid, sd_id, sd_ok)
        core.set_responses(*self._response_layout())
        return core

    def _response_layout(self):
        """The responses' parameter layout for stream_exec.c (as
        blockcodec.BlockUnpacker's) and which of them are loud."""
        from klipsim.chelper.blockcodec import BlockUnpacker
        unpacker = BlockUnpacker(self.our_dict, "response")
        loud = np.zeros(unpacker.n_ids, dtype=np.uint8)
        for msgid, mf in unpacker.table.items():
            loud[msgid + unpacker.id_offset] = mf.name in LOUD_RESPONSES
        return unpacker._layout, unpacker._starts, unpacker.id_offset, unpacker.n_ids, loud

    def _send_now(self, messages):
        """Deliver messages at the current clock (handshake, reactions)."""
        ints, ends = [], []
        for name, args in messages:
            ints += self.fw.message_ints(name, args)
            ends.append(len(ints))
        blocks, _output = self.fw.send_ints(ints, ends)
        self.result.blocks += blocks

    def _expect(self, name):
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

    def _format_error(self, name):
        """A command is ours only with the same name AND format string."""
        if self.stream_dict is None or name not in self.our_dict.commands:
            return None
        try:
            theirs = self.stream_dict.lookup(name).msgformat
        except KeyError:         # the stream cannot hold it: nothing to check
            return None
        ours = self.our_dict.commands[name].msgformat
        if theirs != ours:
            return StreamInputError("%r in the stream's dictionary is %r in the klipsim "
                                    "firmware" % (theirs, ours))
        return None

    def check_format(self, name):
        self.checked_formats.add(name)
        error = self._format_error(name)
        if error is not None:
            raise error

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

    def feed_message(self, name, args):
        """Plan, encode and queue one message; True once the run stopped."""
        core = self.core
        try:
            if name == "queue_step":
                ints = [self.qs_format.msgid, args["oid"], args["interval"], args["count"],
                        args["add"]]
                if not queue_step_ok(args):
                    check_ints(self.qs_format, ints)
                ready, deadline = core.plan_queue_step(args)
                due = core.push(ready, deadline, 0, -1, ints)
            else:
                ready, deadline = core.plan(name, args)
                ints = self.encode(name, args)
                due = core.push(ready, deadline, self._margin_key(name, deadline),
                                self._prepared_id(name, args), ints)
        except KeyError:
            raise unconfigured(name, args) from None
        return due and self._release()

    def _margin_key(self, name, deadline):
        if deadline is None:
            return 0
        return self.margin_keys.setdefault(name, len(self.margin_keys))

    def _prepared_id(self, name, args):
        if name not in PREPARED:
            return -1
        self.prepared_count += 1
        self.prepared[self.prepared_count] = (name, args)
        return self.prepared_count

    def feed_chunk(self, chunk):
        """Every row of a streamio.RowChunk: step rows in C, the others
        (and step rows with something wrong) through feed_message.
        True once the run stopped."""
        rows = np.ascontiguousarray(chunk.rows, dtype=np.int64)
        n, i = len(rows), 0
        ptr = ffi.from_buffer("int64_t[]", rows)
        while i < n:
            code, i = self.core.feed_rows(ptr, n, i)
            if code == lib.SE_DONE:
                break
            if code == lib.SE_RELEASE:
                chunk.locate(i - 1)
                if self._release():
                    return True
                continue
            chunk.locate(i)
            name, args = chunk.message(i)
            i += 1
            if self.feed_message(name, args):
                return True
        if n:
            chunk.locate(n - 1)
        return False

    # -- running ------------------------------------------------------------
    def run_to(self, clock):
        """Advance the firmware to `clock`, answering its reports."""
        while not self.stopped:
            if self.fw.tx_pending:
                self.handle_output()
            if not self.fw.run_until(clock, stop_on_output=True):
                return

    def handle_output(self):
        """Decode what the firmware sent: responses, then check that every
        block sent so far was acked (an empty block naming the next
        sequence; anything else would be a nak)."""
        last_ack = None
        data = (self.core.output() if self.core else b"") + self.fw.read_output()
        for seq, payload in msgblock.split_blocks(data):
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
        """Count the pulses before `before` (default: now); with an
        on_pulses callback, hand them over sorted by clock, then pin name."""
        if self.on_pulses is None:
            self.core.drain(self.fw, self.fw.now if before is None else before)
            return
        pulses = self.fw.take_pulses(before)
        if not len(pulses):
            return
        clock = pulses["clock"]
        if np.any(clock[1:] == clock[:-1]):     # same clock: order by pin name
            pulses = pulses[self._pulse_order(pulses)]
        self._summarise(pulses)
        self.on_pulses(pulses, self.pin_names)

    def _pulse_order(self, pulses):
        """Order by (clock, pin name): one stable sort of clock * pins +
        rank (nearly sorted already: fast) where that fits 63 bits."""
        clock, rank = pulses["clock"], self.pin_rank[pulses["pin"]]
        pins = len(self.pin_rank)
        if int(clock.max()) < (1 << 62) // pins:
            return np.argsort(clock.astype(np.int64) * pins + rank, kind="stable")
        return np.lexsort((rank, clock))

    def _summarise(self, pulses):
        pins = pulses["pin"].astype(np.int64)
        counts = np.bincount(pins)
        ups = np.bincount(pins, weights=pulses["dir"])
        for pin in np.flatnonzero(counts).tolist():
            mine = pins == pin
            s = self._stepper(pin)
            s.steps += int(counts[pin])
            s.net += 2 * int(ups[pin]) - int(counts[pin])
            if s.first_clock < 0:
                s.first_clock = int(pulses["clock"][np.argmax(mine)])
            s.last_clock = int(pulses["clock"][len(pins) - 1 - np.argmax(mine[::-1])])

    def _stepper(self, pin):
        name = self.pin_names.get(pin, "?%d" % pin)
        return self.result.steppers.setdefault(name, StepperSummary(name))

    def execute(self, chunks):
        """Send every message of the stream (streamio.RowChunks), then
        run to the end.

        Messages are planned in stream order, held in a reorder buffer and
        delivered in order of (planned clock, stream position); a message
        is let go once the plan has moved REORDER_HORIZON_S past it, looked
        at each time REORDER_BATCH more messages came in."""
        self.handshake()
        self.check_format("queue_step")
        for chunk in chunks:
            if self.feed_chunk(chunk):
                break
        self.result.messages = self.core.stats().planned
        self.core.release(final=True)
        self.emit(final=True)
        if not self.stopped:
            if self.fw.tx_pending:
                self.handle_output()
            self.run_to(self.core.stats().end_clock)
        self.drain_pulses(self.fw.now + 1)
        self.finish()
        return self.result

    def _release(self):
        self.core.release()
        self.emit()
        return self.stopped

    def emit(self, final=False):
        """Send the released messages in groups (ExecCore.emit; the last
        group stays open for the next call unless `final`).  A message
        that changes the simulated world first sends everything before
        it; Python prepares the messages that need it as they go."""
        accept = False
        while True:
            key = self.core.emit(final, accept)
            if key is None:
                break
            name, args = self.prepared[key]
            if name in WORLD_CHANGES:
                self.core.flush()
                self.send_groups()
                if self.stopped:
                    return
            self.prepare(name, args)
            del self.prepared[key]
            accept = True
        self.send_groups()
        self.drain_pulses()

    def send_groups(self):
        """Hand the closed groups to the firmware's link, answering its
        output whenever it stops for some."""
        while not self.stopped and self.core.deliver(self.fw):
            self.handle_output()

    def finish(self):
        r, stats = self.result, self.core.stats()
        r.end_clock = self.fw.now
        r.zero_clock_fixes = stats.zero_clock_fixes
        r.blocks += stats.blocks
        r.late_groups = stats.late_groups
        r.responses += stats.responses
        names = {key: name for name, key in self.margin_keys.items()}
        r.margins = {names[key]: margin for key, margin in self.core.margins()}
        for pin, steps, net, first, last, _chunk in sorted(self.core.pins(),
                                                           key=lambda p: (p[5], p[0])):
            s = self._stepper(pin)
            s.steps, s.net, s.first_clock, s.last_clock = steps, net, first, last
        r.timer_dispatches = self.fw.timer_dispatches
        if r.shutdown_reason is None and self.fw.is_shutdown:
            r.shutdown_reason = self.fw.shutdown_reason
            r.shutdown_clock = self._clock64(self.fw.shutdown_clock)
        if r.shutdown_reason is None and self.fw.pending_steps:
            raise ExecuteError("%d steps still queued at the end (clock %d)"
                               % (self.fw.pending_steps, r.end_clock))
        self.core.close()
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
        return executor.execute(streamio.read_rows(path, stream_dictionary, position))
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
