"""Python handle on one simulated MCU running klipsim's C firmware.

Contract: `Firmware(profile)` creates an independent instance (any number
per process) whose clock starts at 0 and moves only in `run_until`.
`send` encodes commands with the firmware's own data dictionary (the one
its `identify` command serves), packs them into message blocks with the
host's sequence numbers and hands them to the firmware at the current
clock; `responses` decodes what it transmitted.  Step pulses and other
pin writes are read in bulk as numpy arrays.  Wire-format work is
klipsim.chelper.msgblock's and msgproto's; this module only drives the C library.
"""
import zlib
import json

from klipsim.lazy import numpy as np

from klipsim.chelper import msgblock, msgformat, msgproto
from klipsim.firmware.simulator._fwsim import ffi, lib

# fwsim.h's records as numpy dtypes: PULSE_DTYPE and GPIO_DTYPE, built at
# first use (record_dtype) so that importing this module, or a run that
# reads no records, does not import numpy (start-up, issue 10).
_RECORDS = {"PULSE_DTYPE": ("struct fw_pulse",
                            [("clock", "<u8"), ("pin", "<u4"), ("dir", "<u4")]),
            "GPIO_DTYPE": ("struct fw_gpio_event",
                           [("clock", "<u8"), ("pin", "<u4"), ("value", "<u4")])}
# A read of at most this many GPIO events builds tuples without numpy.
FEW_GPIO_EVENTS = 64


def record_dtype(name):
    """The numpy dtype PULSE_DTYPE or GPIO_DTYPE (module attributes too)."""
    dtype = globals().get(name)
    if dtype is None:
        struct, fields = _RECORDS[name]
        dtype = globals()[name] = np.dtype(fields)
        assert dtype.itemsize == ffi.sizeof(struct)
    return dtype


def __getattr__(name):
    if name in _RECORDS:
        return record_dtype(name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))

_dictionary_cache = {}


def profile_names():
    """Profiles the firmware was built for, in build order."""
    return [ffi.string(lib.fw_profile_name(i)).decode()
            for i in range(lib.fw_profile_count())]


def resolve_profile(name):
    """The built profile a name stands for: a profile name, or one of
    Klipper's dictionary file stems (msgproto.profile_aliases: lpc176x,
    linuxprocess ...).  KeyError if neither."""
    names = profile_names()
    if name in names:
        return name
    alias = msgproto.profile_aliases().get(name)
    if alias in names:
        return alias
    raise KeyError("no firmware profile %r (built: %s)" % (name, ", ".join(names)))


def dictionary_blob(profile):
    """The zlib-compressed data dictionary `identify` serves."""
    size = ffi.new("size_t *")
    ptr = lib.fw_profile_dictionary(profile.encode(), size)
    if ptr == ffi.NULL:
        raise KeyError("no firmware profile %r (built: %s)"
                       % (profile, ", ".join(profile_names())))
    return bytes(ffi.buffer(ptr, size[0]))


def dictionary_json(profile):
    """The data dictionary as a JSON object (dict)."""
    return json.loads(zlib.decompress(dictionary_blob(profile)))


def dictionary(profile):
    """The firmware's data dictionary as a msgproto.Dictionary."""
    profile = resolve_profile(profile)
    if profile not in _dictionary_cache:
        _dictionary_cache[profile] = msgproto.Dictionary.from_json(
            dictionary_json(profile))
    return _dictionary_cache[profile]


def static_string(reason_id):
    s = lib.fw_static_string(reason_id)
    return ffi.string(s).decode() if s != ffi.NULL else "?%d" % reason_id


def format_pulses(pulses, pin_names):
    """CSV text `pin_name,clock,dir` per pulse (bytes); pin_names maps
    pin number -> name."""
    if not len(pulses):
        return b""
    top = int(pulses["pin"].max())
    names = [ffi.new("char[]", pin_names.get(i, "?%d" % i).encode())
             for i in range(top + 1)]
    table = ffi.new("const char *[]", names)
    width = max(len(ffi.string(n)) for n in names) + 26
    out = bytearray(len(pulses) * width)
    pulses = np.ascontiguousarray(pulses, dtype=record_dtype("PULSE_DTYPE"))
    n = lib.fw_format_pulses(ffi.cast("struct fw_pulse *", ffi.from_buffer(pulses)),
                             len(pulses), table, ffi.from_buffer(out))
    return bytes(out[:n])


# A buffer parameter's bytes travel as RAW_BYTE_TAG | byte (fwsim.h
# FW_RAW_BYTE_TAG): sent as they are, where other integers are VLQ-encoded.
RAW_BYTE_TAG = 1 << 40


def buffer_message_ints(mf, args):
    """message_ints for a format with a buffer (%*s) parameter: its length
    byte, then its bytes, each tagged RAW_BYTE_TAG (docs/Protocol.md: a
    buffer is one length byte and the raw data)."""
    ints = [mf.msgid]
    for key, kind in zip(mf.keys, mf.kinds):
        value = args[key]
        if kind == msgformat.BUFFER:
            data = bytes(value)
            ints += [RAW_BYTE_TAG | b for b in bytes([len(data)]) + data]
        else:
            ints.append(mf.to_int(key, value))
    return ints


class GroupBatch:
    """Message groups for Firmware.deliver_groups, in C arrays.

    ints: message ids and parameters, flat; msg_ends[i]: index in ints
    after message i; group_ends[g]: index in msg_ends after group g's last
    message; clocks[g]: when group g is sent."""

    def __init__(self, ints, msg_ends, group_ends, clocks):
        self.ints = ffi.new("int64_t[]", ints)
        self.msg_ends = ffi.new("uint32_t[]", msg_ends)
        self.group_ends = ffi.new("uint32_t[]", group_ends)
        self.clocks = ffi.new("uint64_t[]", clocks)
        self.count = len(group_ends)


# Firmware.run's stop flags and results (fwsim.h).
STOP_OUTPUT = lib.FW_STOP_OUTPUT
STOP_SAMPLE = lib.FW_STOP_SAMPLE
RUN_REACHED = lib.FW_RUN_REACHED
RUN_OUTPUT = lib.FW_RUN_OUTPUT
RUN_SAMPLE = lib.FW_RUN_SAMPLE
NEVER = (1 << 64) - 1            # quiet_until: nothing can come
ARRIVE_TX_MAX = 256              # arrive(): output up to this size comes back at once
assert ARRIVE_TX_MAX == lib.FW_NODE_OUT_MAX
# (Firmware.arrive unpacks fw_arrive's info array in this order)
assert (lib.FW_ARRIVE_TX, lib.FW_ARRIVE_RX_LOST, lib.FW_ARRIVE_QUIET, lib.FW_ARRIVE_NOW,
        lib.FW_ARRIVE_INFO) == (0, 1, 2, 3, 4)
assert (lib.FW_GRID_DUE, lib.FW_GRID_POINT, lib.FW_GRID_NEXT, lib.FW_GRID_IO) == (0, 1, 2, 3)


class PollGrid:
    """The MCU node's poll grid in C (fw_grid_replay): grid points
    grid0 + k * poll_ns (k >= 1) on a McuClock-like clock (offset,
    freq, drift_ppb), heater plant updates `period` ticks apart."""

    def __init__(self, clock, grid0, poll_ns, period):
        num = clock.freq * (10 ** 9 + clock.drift_ppb)   # McuClock's ticks per 1e18 ns
        self._grid = ffi.new("struct fw_grid *", {"offset": clock.offset, "num": num,
                                                  "grid0": grid0, "poll": poll_ns,
                                                  "period": period})
        self._io = ffi.new("int64_t[]", lib.FW_GRID_IO)
        self._view = memoryview(ffi.buffer(self._io)).cast("q")

    def replay(self, due, upto):
        """(update points made, the last one, the final due, the grid
        point reaching it): the chain from `due` up to clock `upto`."""
        self._io[lib.FW_GRID_DUE] = due
        n = lib.fw_grid_replay(self._grid, upto, self._io)
        due, last, after = self._view
        return n, last, due, after


class Firmware:
    """One simulated MCU."""

    def __init__(self, profile):
        profile = resolve_profile(profile)
        self.profile = profile
        self.dictionary = dictionary(profile)
        self._mcu = lib.fw_new(profile.encode())
        if self._mcu == ffi.NULL:
            raise KeyError("no firmware profile %r" % profile)
        self.clock_freq = lib.fw_clock_freq(self._mcu)
        # The firmware expects sequence 0 after reset (Klipper's MCU starts
        # there too; its host resynchronises on the first nak).
        self.host_seq = 0
        self._int_specs = {}
        self._tx_buf = ffi.new("uint8_t[]", 256)
        self._arrive_buf = ffi.new("uint8_t[]", ARRIVE_TX_MAX)
        self._arrive_info = ffi.new("uint64_t[]", lib.FW_ARRIVE_INFO)
        self._arrive_view = memoryview(ffi.buffer(self._arrive_buf))
        self._info_view = memoryview(ffi.buffer(self._arrive_info)).cast("Q")

    def reset(self):
        """Power-cycle: a fresh instance of the same profile (clock 0,
        unconfigured, empty buffers)."""
        self.close()
        self._mcu = lib.fw_new(self.profile.encode())
        self.host_seq = 0

    def close(self):
        if self._mcu is not None:
            lib.fw_free(self._mcu)
            self._mcu = None

    def __del__(self):
        self.close()

    # -- time and bytes ------------------------------------------------
    @property
    def now(self):
        return lib.fw_now(self._mcu)

    def run_until(self, clock, stop_on_output=False):
        """Advance the clock to `clock` (firing due timers); with
        stop_on_output, return True as soon as the MCU transmitted."""
        return lib.fw_run_until(self._mcu, clock, 1 if stop_on_output else 0) \
            == lib.FW_RUN_OUTPUT

    def run_late(self, clock):
        """A process MCU got the CPU at `clock`: the clock jumps there and
        every timer due by then runs at that time (fw_run_late: the Linux
        MCU's late-repeat rule applies). Returns the timer dispatches."""
        return lib.fw_run_late(self._mcu, clock)

    @property
    def next_timer(self):
        """The earliest timer's waketime (64-bit clock; may be past)."""
        return lib.fw_next_timer(self._mcu)

    def run(self, clock, stop):
        """fw_run_until with `stop` flags (STOP_OUTPUT | STOP_SAMPLE):
        RUN_REACHED, RUN_OUTPUT (read it) or RUN_SAMPLE (the clock is at
        a watched ADC sample not taken yet: set the value, run on)."""
        return lib.fw_run_until(self._mcu, clock, stop)

    @property
    def quiet_until(self):
        """The earliest clock at which the MCU could transmit if nothing
        arrives (a lower bound); NEVER when nothing can come."""
        return lib.fw_quiet_until(self._mcu)

    def watch_adc(self, pin, watch=True):
        """Stop run(..., STOP_SAMPLE) before samples of this ADC pin taken
        after the clock given to set_adc_valid_until."""
        lib.fw_set_adc_watch(self._mcu, self._pin_number(pin), 1 if watch else 0)

    def set_adc_valid_until(self, clock):
        lib.fw_set_adc_valid_until(self._mcu, clock)

    def receive(self, data):
        """Bytes from the host, processed at the current clock."""
        lib.fw_receive(self._mcu, data, len(data))

    def set_rx_buffer(self, size):
        """Model a UART receive buffer of `size` bytes: a burst that does
        not fit is lost (0: the transport holds it back instead)."""
        lib.fw_set_rx_buffer(self._mcu, size)

    @property
    def rx_overflow(self):
        """Received bytes lost to a full UART receive buffer so far."""
        return lib.fw_rx_overflow(self._mcu)

    @property
    def tx_pending(self):
        """Bytes the firmware transmitted that were not read yet."""
        return lib.fw_tx_available(self._mcu)

    def arrive(self, clock, stop, data):
        """Run to `clock` (run(clock, stop)) and, once there, receive
        `data` (fw_arrive, one C call): (RUN_REACHED, what the firmware
        then transmitted (bytes), rx_overflow, quiet_until, now) or, when
        the run stopped early or the MCU is shut down, (its state, None,
        0, 0, 0) with nothing received."""
        state = lib.fw_arrive(self._mcu, clock, stop, data, len(data),
                              self._arrive_buf, ARRIVE_TX_MAX, self._arrive_info)
        return self.arrive_result(state, self._info_view, self._arrive_view)

    def arrive_result(self, state, info, out_view):
        """arrive()'s results from fw_arrive's state, its info array and
        output buffer (of ARRIVE_TX_MAX bytes) as memoryviews (the
        cheapest reads from Python)."""
        if state != RUN_REACHED:
            return state, None, 0, 0, 0
        n, lost, quiet, now = info
        if not n:
            out = b""
        elif n <= ARRIVE_TX_MAX:
            out = out_view[:n].tobytes()
        else:
            out = self.read_output()
        return state, out, lost, quiet, now

    def read_output(self):
        n = lib.fw_tx_available(self._mcu)
        if not n:
            return b""
        buf = self._tx_buf
        if len(buf) < n:       # one buffer reused (most reads are one ack)
            buf = self._tx_buf = ffi.new("uint8_t[]", max(n, 2 * len(buf)))
        lib.fw_tx_read(self._mcu, buf, n)
        return ffi.buffer(buf, n)[:]

    # -- messages --------------------------------------------------------
    def frame(self, messages):
        """Blocks (bytes) carrying `messages` [(name, args)], packed in
        order, advancing the host sequence number."""
        out, payload = bytearray(), bytearray()
        for name, args in messages:
            data = self.dictionary.encode(name, args)
            if len(payload) + len(data) > msgblock.MESSAGE_PAYLOAD_MAX:
                out += msgblock.frame_block(bytes(payload), self.host_seq)
                self.host_seq = (self.host_seq + 1) & msgblock.MESSAGE_SEQ_MASK
                payload = bytearray()
            payload += data
        if payload:
            out += msgblock.frame_block(bytes(payload), self.host_seq)
            self.host_seq = (self.host_seq + 1) & msgblock.MESSAGE_SEQ_MASK
        return bytes(out)

    def message_ints(self, name, args):
        """[message id, parameters...] as integers (enumerations such as
        pin names mapped with the firmware's dictionary)."""
        spec = self._int_specs.get(name)
        if spec is None:
            mf = self.dictionary.lookup(name)
            spec = self._int_specs[name] = (mf.msgid, mf.keys, bool(mf.enum_names), mf)
        msgid, keys, enums, mf = spec
        if msgformat.BUFFER in mf.kinds:
            return buffer_message_ints(mf, args)
        if enums:
            return [msgid] + [mf.to_int(k, args[k]) for k in keys]
        return [msgid] + [args[k] for k in keys]

    def send_ints(self, ints, ends):
        """Deliver messages given as integers (see message_ints; ends[i] =
        index after message i in `ints`), packed into blocks by the C side
        of the link.  Returns (blocks sent, whether the firmware answered
        with anything but the matching acks: then read_output)."""
        seq = ffi.new("uint8_t *", self.host_seq)
        ret = lib.fw_host_send(self._mcu, ffi.new("int64_t[]", ints),
                               ffi.new("uint32_t[]", ends), len(ends), seq)
        if ret < 0:
            raise ValueError("a message does not fit in one block")
        self.host_seq = seq[0]
        return ret >> 1, bool(ret & 1)

    def deliver_groups(self, batch, first=0):
        """Send message groups, each at its clock (fw_deliver_groups).

        batch: GroupBatch.  Runs the clock up to each group's clock and
        sends it; returns (index of the first group not sent, blocks sent,
        groups sent late).  It stops early whenever the firmware
        transmitted anything but acks: read it (read_output) and call
        again from the returned index."""
        seq = ffi.new("uint8_t *", self.host_seq)
        stats = ffi.new("struct fw_delivery *")
        done = lib.fw_deliver_groups(self._mcu, batch.ints, batch.msg_ends, batch.group_ends,
                                     batch.clocks, first, batch.count, seq, stats)
        if done < 0:
            raise ValueError("a message does not fit in one block")
        self.host_seq = seq[0]
        return done, stats.blocks, stats.late_groups

    def send(self, *messages):
        """Encode, frame and deliver messages given as (name, args) pairs
        or as parsedump text lines."""
        parsed = [self.dictionary.parse_text(m) if isinstance(m, str) else m
                  for m in messages]
        self.receive(self.frame(parsed))

    def blocks(self):
        """(seq, payload) of every block transmitted since the last call."""
        return msgblock.split_blocks(self.read_output())

    def responses(self):
        """Decoded responses [(name, args)] transmitted since the last call
        (acks and naks, the empty blocks, are dropped)."""
        out = []
        for _seq, payload in self.blocks():
            if payload:
                out.extend(self.dictionary.decode(payload, "response"))
        return out

    # -- pins ----------------------------------------------------------
    def pin(self, name):
        return self.dictionary.pins[name]

    def set_input(self, pin, value):
        lib.fw_set_input(self._mcu, self._pin_number(pin), value)

    def set_adc(self, pin, value):
        lib.fw_set_adc(self._mcu, self._pin_number(pin), value)

    def pin_level(self, pin):
        return lib.fw_pin_level(self._mcu, self._pin_number(pin))

    def _pin_number(self, pin):
        return self.pin(pin) if isinstance(pin, str) else pin

    def take_pulses(self, before=None):
        """Step pulses recorded so far with clock < before (default: all
        final ones, i.e. before the current clock), removed from the
        buffer; a PULSE_DTYPE array in execution (clock) order."""
        n = self.pulses_ready(before)
        arr = np.empty(n, dtype=record_dtype("PULSE_DTYPE"))
        if n:
            lib.fw_pulses_take(self._mcu, ffi.cast("struct fw_pulse *",
                                                   ffi.from_buffer(arr)), n)
        return arr

    def pulses_ready(self, before=None):
        """How many pulses take_pulses(before) would return."""
        return lib.fw_pulses_ready(self._mcu, self.now if before is None else before)

    def set_pulse_counting(self, only_count):
        """Count steps per step pin instead of recording pulses (take_pulses
        then returns none): for a run that keeps no pulse."""
        lib.fw_set_pulse_counting(self._mcu, int(bool(only_count)))

    def pulse_counts(self):
        """(steps, ups) per pin number, counted while only counting:
        lists of every pin the board has (ups: the dir levels summed)."""
        n = lib.fw_pulse_counts(self._mcu, ffi.NULL, ffi.NULL, 0)
        steps, ups = ffi.new("int64_t[]", n), ffi.new("int64_t[]", n)
        lib.fw_pulse_counts(self._mcu, steps, ups, n)
        return ffi.unpack(steps, n), ffi.unpack(ups, n)

    def take_gpio_events(self):
        n = lib.fw_gpio_events_available(self._mcu)
        arr = np.empty(n, dtype=record_dtype("GPIO_DTYPE"))
        if n:
            lib.fw_gpio_events_take(self._mcu, ffi.cast(
                "struct fw_gpio_event *", ffi.from_buffer(arr)), n)
        return arr

    def take_gpio_rows(self, pins):
        """The recorded writes of `pins` as (clock, pin, value) tuples in
        clock order; every recorded write leaves the buffer (those of
        other pins are dropped).  A few are read without numpy: a print's
        set-up writes its pins' first values, and an empty print then
        needs no numpy at all (start-up)."""
        n = lib.fw_gpio_events_available(self._mcu)
        if n > FEW_GPIO_EVENTS:
            events = self.take_gpio_events()
            if not pins:
                return []
            mask = events["pin"] == pins[0]
            for pin in pins[1:]:
                mask |= events["pin"] == pin
            return events[mask].tolist()
        if not n:
            return []
        buf = ffi.new("struct fw_gpio_event[]", n)
        lib.fw_gpio_events_take(self._mcu, buf, n)
        return [(e.clock, e.pin, e.value) for e in buf if e.pin in pins]

    def set_gpio_recording(self, enable):
        lib.fw_set_gpio_recording(self._mcu, 1 if enable else 0)

    def record_gpio_only(self, pins):
        """From now on record only the writes of these pins (numbers)."""
        pins = list(pins)
        lib.fw_record_gpio_only(self._mcu, ffi.new("uint32_t[]", pins), len(pins))

    # -- state -----------------------------------------------------------
    @property
    def is_shutdown(self):
        return bool(lib.fw_is_shutdown(self._mcu))

    @property
    def shutdown_reason(self):
        """The shutdown's static string, or None while running."""
        if not self.is_shutdown:
            return None
        return static_string(lib.fw_shutdown_reason(self._mcu))

    @property
    def shutdown_clock(self):
        """Low 32 bits of the clock at the shutdown."""
        return lib.fw_shutdown_clock(self._mcu)

    @property
    def moves_in_use(self):
        return lib.fw_moves_in_use(self._mcu)

    @property
    def pending_steps(self):
        return lib.fw_pending_steps(self._mcu)

    @property
    def timer_dispatches(self):
        return lib.fw_timer_dispatches(self._mcu)
