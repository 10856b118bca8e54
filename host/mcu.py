"""The host's view of one micro-controller: object ids, configuration
commands, the print-time <-> clock mapping, and the pin objects (digital
out, soft PWM, analog in, endstop, trsync) that emit commands.

Configuration follows the order Klipper's host uses (checked against
golden/klipper/*/klipper.txt): objects register a config callback when
they are created; at connect time the callbacks run in that order, some
objects allocate their oid only then ("lazy" oids: digital out, PWM,
analog in), `allocate_oids count=N` goes first, and `finalize_config crc=`
carries the CRC32 of the configuration lines joined by newlines.

Messages leave through a `link` (compile mode: a stream writer; simulate
mode: the simulated serial queue): `link.send(mcu, name, args, req_clock,
min_clock)`. Responses come back through `handle_response(name, args)`,
called by whoever reads the MCU's output (simulate: the serialhdl thread;
compile mode has no MCU, so nothing ever arrives); objects subscribe with
`register_response(name, oid, callback)`.

Queries (a command whose answer the host waits for, e.g. trsync_trigger
-> trsync_state): with a live MCU (the link can pause: simulate)
`MCU.query(...)` hands the command to the link's `query` and pauses the
calling reactor callback on a completion that the response handler
completes; without one (compile mode) it sends nothing and returns None
at once, as Klipper's batch output holds no query (no trsync_trigger,
endstop_query_state or get_clock in golden/klipper/*/klipper.txt). The
host's MCU objects get their `reactor` from the printer.
"""
import zlib

from ..gcode.errors import GCodeError

MAX_STEPCOMPRESS_ERROR = 0.000025   # stepper.py: 25 us
PWM_INIT_TIME = 0.200               # first soft-PWM value at est + 0.2 s (mcu.py)
QUERY_SLOT_LEAD = 1.5               # periodic queries start at clock(int(est + 1.5 s))
QUERY_SLOT_STEP = 0.010             # ... + oid * 10 ms (mcu.py get_query_slot)
# How long a query waits for its answer before sending it again, per try.
# Klipper (serialhdl.py) first waits for the command's ack, then 10 ms
# doubling, 5 retries; klipsim has no ack notification, so each window
# also covers the ack's round trip: 100 ms doubling, 6 tries (6.3 s).
QUERY_WINDOWS = (0.100, 0.200, 0.400, 0.800, 1.600, 3.200)


def mcu_sections(config):
    """(MCU name, section) of every [mcu] ("mcu") and [mcu NAME] section,
    in file order."""
    out = []
    for section in config.sections("mcu"):
        parts = section.name.split()
        if parts[0] == "mcu":
            out.append((parts[-1] if len(parts) > 1 else "mcu", section))
    return out


class MCUError(Exception):
    """A pin or MCU configuration problem (message names the place)."""


class MCU:
    """One MCU: oids, config/init commands and clock conversions."""

    def __init__(self, name, dictionary, link, clock_source):
        self.name = name
        self.dictionary = dictionary
        self.link = link
        self.clock_source = clock_source
        self.clock_freq = float(dictionary.clock_freq)
        # print time -> clock is (print_time - offset) * freq. The main MCU
        # (and any MCU in batch mode) keeps (0, CLOCK_FREQ); a secondary
        # MCU's clock source re-fits it to the main MCU's clock
        # (calibrate_clock, FACTS 2.4: clocksync's secondary sync).
        self.clock_adj = getattr(clock_source, "clock_adj", None) or (0., self.clock_freq)
        self.constants = dictionary.config
        self._oid_count = 0
        self.aliases = {}                # [board_pins] alias -> pin name
        self._config_callbacks = []
        self._config_cmds = []
        self._init_cmds = []
        self._responses = {}             # (name, oid) -> callback(args)
        self.reactor = None              # set by the printer (queries wait on it)

    # ---- identity and clocks --------------------------------------------
    def create_oid(self):
        oid = self._oid_count
        self._oid_count += 1
        return oid

    def get_constant(self, name, default=None):
        value = self.constants.get(name, default)
        if value is None:
            raise MCUError("MCU '%s' has no constant %s" % (self.name, name))
        return value

    def print_time_to_clock(self, print_time):
        offset, freq = self.clock_adj
        return int((print_time - offset) * freq)

    def clock_to_print_time(self, clock):
        offset, freq = self.clock_adj
        return clock / freq + offset

    def calibrate_clock(self, print_time, eventtime):
        """Re-fit this MCU's print time mapping (secondary MCUs; a no-op
        for the main MCU and in batch mode); returns (offset, freq)."""
        calibrate = getattr(self.clock_source, "calibrate_clock", None)
        if calibrate is not None:
            self.clock_adj = calibrate(print_time, eventtime)
        return self.clock_adj

    def seconds_to_clock(self, seconds):
        return int(seconds * self.clock_freq)

    def query_slot(self, oid):
        """First clock of a periodic query (ADC, thermocouple): the whole
        second after est + 1.5 s, plus 10 ms per oid, so that the
        queries of different objects do not all start together."""
        est = self.estimated_print_time(0.)
        return (self.print_time_to_clock(int(est + QUERY_SLOT_LEAD))
                + self.seconds_to_clock(oid * QUERY_SLOT_STEP))

    def estimated_print_time(self, eventtime):
        return self.clock_source.estimated_print_time(eventtime)

    def resolve_pin(self, pin):
        """The MCU's name for `pin` ([board_pins] aliases applied)."""
        return self.aliases.get(pin, pin)

    def check_pin(self, pin, where):
        if self.resolve_pin(pin) not in self.dictionary.pins:
            raise MCUError("%s: pin '%s' is not a pin of MCU '%s' (%s)"
                           % (where, pin, self.name, self.dictionary.mcu))

    # ---- responses --------------------------------------------------------
    def register_response(self, name, oid, callback):
        self._responses[(name, oid)] = callback

    def unregister_response(self, name, oid):
        self._responses.pop((name, oid), None)

    @property
    def live(self):
        """Whether an MCU answers (the link can pause for it): False in
        compile mode, as Klipper's mcu.is_fileoutput()."""
        return self.link.can_pause

    def query(self, name, args, response):
        """Send query command `name` and wait for `response` with the same
        oid; its args, or None without a live MCU (nothing is sent).
        Resent after each of QUERY_WINDOWS without an answer, then a
        GCodeError (the host's "Unable to obtain ... response")."""
        if not self.live:
            return None
        oid = args.get("oid")
        completion = self.reactor.completion()
        self._responses[(response, oid)] = completion.complete
        try:
            for window in QUERY_WINDOWS:
                self.link.query(self, name, args)
                reply = completion.wait(self.reactor.monotonic() + window)
                if reply is not None:
                    return reply
        finally:
            self.unregister_response(response, oid)
        raise GCodeError("MCU '%s': unable to obtain '%s' response" % (self.name, response))

    def handle_response(self, name, args):
        """A decoded response from the MCU; False when nobody subscribed."""
        callback = self._responses.get((name, args.get("oid")))
        if callback is None:
            return False
        callback(args)
        return True

    # ---- configuration --------------------------------------------------
    def register_config_callback(self, callback):
        self._config_callbacks.append(callback)

    def add_config_cmd(self, name, args, is_init=False):
        args = {k: (self.resolve_pin(v) if (k == "pin" or k.endswith("_pin"))
                    and isinstance(v, str) else v) for k, v in args.items()}
        (self._init_cmds if is_init else self._config_cmds).append((name, args))

    def connect(self):
        """Run config callbacks and send the configuration and init
        commands, as the host does when it connects."""
        for callback in self._config_callbacks:
            callback()
        config = [("allocate_oids", {"count": self._oid_count})] + self._config_cmds
        text = "\n".join(self._crc_text(n, a) for n, a in config)
        crc = zlib.crc32(text.encode()) & 0xffffffff
        for name, args in config:
            self.link.send(self, name, args)
        self.link.send(self, "finalize_config", {"crc": crc})
        for name, args in self._init_cmds:
            self.link.send(self, name, args)

    def _crc_text(self, name, args):
        """A config line as the host wrote it for the CRC: parsedump's
        text, but a negative value as the host's "%d" printed it
        (config_stepper invert_step=-1, not 4294967295)."""
        text = self.dictionary.format_text(name, args)
        for key, value in args.items():
            if isinstance(value, int) and value < 0:
                shown = " %s=%d" % (key, value & 0xffffffff)
                text = text.replace(shown, " %s=%d" % (key, value))
        return text

    def send(self, name, args, req_clock=0, min_clock=0):
        self.link.send(self, name, args, req_clock, min_clock)

    def send_batch(self, batch):
        """Send a flush's step messages (a chelper.steppersync.StepBatch,
        valid only during this call) in order."""
        self.link.send_batch(self, batch)


class DigitalOut:
    """An on/off output pin (stepper enable lines, [output_pin])."""

    def __init__(self, mcu, pin, invert, start_value=0, shutdown_value=0,
                 max_duration=0.):
        self.mcu = mcu
        self.pin = pin
        self.invert = int(bool(invert))
        self.start_value = start_value
        self.shutdown_value = shutdown_value
        self.max_duration = max_duration
        self.oid = None
        self.last_clock = 0
        mcu.register_config_callback(self._build_config)

    def _build_config(self):
        self.oid = self.mcu.create_oid()
        self.mcu.add_config_cmd("config_digital_out", {
            "oid": self.oid, "pin": self.pin,
            "value": self.start_value ^ self.invert,
            "default_value": self.shutdown_value ^ self.invert,
            "max_duration": self.mcu.seconds_to_clock(self.max_duration)})

    def set_digital(self, print_time, value):
        clock = self.mcu.print_time_to_clock(print_time)
        self.mcu.send("queue_digital_out", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "on_ticks": int(bool(value)) ^ self.invert},
            req_clock=clock, min_clock=self.last_clock)
        self.last_clock = clock


class SoftPwm:
    """A software-PWM output (heaters, fans) on a digital pin."""

    def __init__(self, mcu, pin, invert, cycle_time, start_value=0.,
                 shutdown_value=0., max_duration=0.):
        self.mcu = mcu
        self.pin = pin
        self.invert = int(bool(invert))
        self.cycle_time = cycle_time
        self.start_value = start_value
        self.shutdown_value = shutdown_value
        self.max_duration = max_duration
        self.oid = None
        self.cycle_ticks = 0
        self.last_clock = 0
        mcu.register_config_callback(self._build_config)

    def _build_config(self):
        self.oid = self.mcu.create_oid()
        self.cycle_ticks = self.mcu.seconds_to_clock(self.cycle_time)
        self.mcu.add_config_cmd("config_digital_out", {
            "oid": self.oid, "pin": self.pin,
            "value": int(self.start_value >= 1.) ^ self.invert,
            "default_value": int(self.shutdown_value >= .5) ^ self.invert,
            "max_duration": self.mcu.seconds_to_clock(self.max_duration)})
        self.mcu.add_config_cmd("set_digital_out_pwm_cycle", {
            "oid": self.oid, "cycle_ticks": self.cycle_ticks})
        # The first value is scheduled a little after start-up.
        est = self.mcu.estimated_print_time(0.)
        clock = self.mcu.print_time_to_clock(est + PWM_INIT_TIME)
        self.last_clock = clock
        self.mcu.add_config_cmd("queue_digital_out", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "on_ticks": self._on_ticks(self.start_value)}, is_init=True)

    def _on_ticks(self, value):
        on_ticks = int(max(0., min(1., value)) * self.cycle_ticks + 0.5)
        if self.invert:
            on_ticks = self.cycle_ticks - on_ticks
        return on_ticks

    def set_pwm(self, print_time, value):
        clock = self.mcu.print_time_to_clock(print_time)
        self.mcu.send("queue_digital_out", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "on_ticks": self._on_ticks(value)},
            req_clock=clock, min_clock=self.last_clock)
        self.last_clock = clock

    def set_cycle_time(self, print_time, cycle_time):
        """A new PWM period from print_time on ([pwm_cycle_time])."""
        clock = self.mcu.print_time_to_clock(print_time)
        self.cycle_ticks = self.mcu.seconds_to_clock(cycle_time)
        self.mcu.send("set_digital_out_pwm_cycle", {
            "oid": self.oid, "cycle_ticks": self.cycle_ticks},
            req_clock=clock, min_clock=self.last_clock)


def extend_clock32(clock32, near):
    """The 64-bit clock whose low 32 bits are clock32, closest to `near`."""
    near = int(near)
    full = (near & ~0xFFFFFFFF) | clock32
    if full < near - (1 << 31):
        full += 1 << 32
    elif full > near + (1 << 31):
        full -= 1 << 32
    return full


class AnalogIn:
    """An ADC input sampled periodically by the MCU (thermistors).

    Each analog_in_state report carries the sum of sample_count samples
    and next_clock, the start of the next reading; the reading it carries
    started report_time earlier. `setup_callback(f)` gets f(read_time,
    fraction) per report: read_time is the reading's start as print
    time, fraction the mean sample over the ADC's full scale."""

    def __init__(self, mcu, pin, sample_time, sample_count, report_time,
                 min_fraction, max_fraction, range_check_count):
        self.mcu = mcu
        self.pin = pin
        self.sample_time = sample_time
        self.sample_count = sample_count
        self.report_time = report_time
        self.min_fraction = min_fraction
        self.max_fraction = max_fraction
        self.range_check_count = range_check_count
        self.oid = None
        self.callback = None
        self.max_adc = 1
        self.rest_ticks = 0
        self.next_clock = 0      # expected next_clock of the next report (64 bit)
        mcu.register_config_callback(self._build_config)

    def setup_callback(self, callback):
        self.callback = callback

    def setup_minmax(self, min_fraction, max_fraction, range_check_count):
        """The range the MCU enforces (set before the MCU connects)."""
        self.min_fraction = min_fraction
        self.max_fraction = max_fraction
        self.range_check_count = range_check_count

    def _build_config(self):
        self.oid = self.mcu.create_oid()
        self.mcu.add_config_cmd("config_analog_in", {"oid": self.oid, "pin": self.pin})
        self.max_adc = max_adc = self.sample_count * self.mcu.get_constant("ADC_MAX")
        min_value = max(0, min(0xffff, int(self.min_fraction * max_adc)))
        max_value = max(0, min(0xffff, int(-(-self.max_fraction * max_adc // 1))))
        first_clock = self.mcu.query_slot(self.oid)
        self.rest_ticks = self.mcu.seconds_to_clock(self.report_time)
        self.next_clock = first_clock + self.rest_ticks
        self.mcu.add_config_cmd("query_analog_in", {
            "oid": self.oid,
            "clock": first_clock & 0xffffffff,
            "sample_ticks": self.mcu.seconds_to_clock(self.sample_time),
            "sample_count": self.sample_count,
            "rest_ticks": self.rest_ticks,
            "bytes_per_report": 2,
            "min_value": min_value, "max_value": max_value,
            "range_check_count": self.range_check_count}, is_init=True)
        self.mcu.register_response("analog_in_state", self.oid, self._handle_state)

    def _handle_state(self, args):
        """An analog_in_state report (on the thread reading responses)."""
        values = args["values"]
        next_clock = extend_clock32(args["next_clock"], self.next_clock)
        self.next_clock = next_clock + self.rest_ticks
        if self.callback is None or len(values) < 2:
            return
        total = values[-2] | (values[-1] << 8)      # the newest sum, 16-bit LE
        read_time = self.mcu.clock_to_print_time(next_clock - self.rest_ticks)
        self.callback(read_time, total / self.max_adc)


REASON_ENDSTOP_HIT = 1          # mcu.py MCU_trsync reasons (Klipper's numbering)
REASON_HOST_REQUEST = 2
REASON_PAST_END_TIME = 3
REASON_COMMS_TIMEOUT = 4
TRSYNC_SINGLE_MCU_TIMEOUT = 0.250   # mcu.py: trsync expiry with one MCU
TRSYNC_TIMEOUT = 0.025              # ... with steppers on several MCUs
TRSYNC_REPORT_RATIO = 0.3           # reports every 0.3 x the timeout


class Endstop:
    """An endstop input and the trsync object that stops steppers on it.
    The oids are taken when the endstop is created (before its stepper's).

    A homing move, as a live Klipper runs it (mcu.py MCU_endstop,
    TriggerDispatch, MCU_trsync): home_start arms both and returns the
    trigger completion; the trsync's state reports (serialhdl thread)
    complete it when the trsync triggered, and once a report's clock is
    past the move's end the host triggers it (reason past-end-time);
    home_wait waits for that, disarms the endstop, then asks the trsync
    to trigger (a query: its answer names the reason it triggered with,
    and it stops the serial thread extending the trsync). Nothing drives
    the endstop pin in a simulation, so the endstop counts as hit at the
    end of the move, unless the trsync expired (comms timeout)."""

    def __init__(self, mcu, pin, pullup, invert):
        self.mcu = mcu
        self.pin = pin
        self.pullup = pullup
        self.invert = invert
        self.oid = mcu.create_oid()
        self.trsync_oid = mcu.create_oid()
        self.local_steppers = []
        self.remotes = {}            # MCU name -> RemoteTrsync
        self.trigger = None          # completion of the current homing move
        self._home_end_clock = None
        mcu.register_config_callback(self._build_config)

    def add_stepper(self, stepper):
        """A stepper this endstop stops; one on another MCU gets a trsync
        of its own there (Klipper's multi-MCU homing, TriggerDispatch)."""
        if stepper.mcu is not self.mcu:
            remote = self.remotes.get(stepper.mcu.name)
            if remote is None:
                remote = self.remotes[stepper.mcu.name] = RemoteTrsync(stepper.mcu)
            remote.add_stepper(stepper)
            return
        if stepper not in self.local_steppers:
            self.local_steppers.append(stepper)

    @property
    def steppers(self):
        return self.local_steppers + [s for r in self.remotes.values() for s in r.steppers]

    def home_start(self, print_time, sample_time, sample_count, rest_time,
                   triggered=True):
        """Arm the endstop and its trsync for a homing move at print_time
        (docs/MCU_Commands.md, "Homing"): steppers stop on trigger, the
        trsync expires unless the host extends it."""
        mcu = self.mcu
        self.trigger = mcu.reactor.completion()
        self._home_end_clock = None
        mcu.register_response("trsync_state", self.trsync_oid, self._handle_trsync_state)
        clock = mcu.print_time_to_clock(print_time)
        rest_ticks = mcu.print_time_to_clock(print_time + rest_time) - clock
        timeout = TRSYNC_TIMEOUT if self.remotes else TRSYNC_SINGLE_MCU_TIMEOUT
        start_trsync(mcu, self.trsync_oid, self.local_steppers, print_time, 0., timeout)
        count = 1 + len(self.remotes)
        for index, remote in enumerate(self.remotes.values(), 1):
            start_trsync(remote.mcu, remote.oid, remote.steppers, print_time,
                         float(index) / count, timeout)
        mcu.send("endstop_home", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "sample_ticks": mcu.seconds_to_clock(sample_time),
            "sample_count": sample_count, "rest_ticks": rest_ticks,
            "pin_value": int(triggered) ^ int(bool(self.invert)),
            "trsync_oid": self.trsync_oid, "trigger_reason": REASON_ENDSTOP_HIT},
            req_clock=clock)
        return self.trigger

    def _handle_trsync_state(self, args):
        """A trsync report during a homing move (serialhdl thread)."""
        if not args["can_trigger"]:
            if not self.trigger.test():
                self.trigger.complete(args["trigger_reason"])
        elif self._home_end_clock is not None:
            clock = extend_clock32(args["clock"], self._home_end_clock)
            if clock >= self._home_end_clock:
                self._home_end_clock = None
                self.mcu.send("trsync_trigger", {"oid": self.trsync_oid,
                                                 "reason": REASON_PAST_END_TIME})

    def home_wait(self, home_end_time):
        """End of the homing move (see the class): the trigger time, the
        move's end. A trsync that expired is the user error
        "Communication timeout during homing"."""
        mcu = self.mcu
        if mcu.live:
            self._home_end_clock = mcu.print_time_to_clock(home_end_time)
            self.trigger.wait()
        mcu.send("endstop_home", {"oid": self.oid, "clock": 0, "sample_ticks": 0,
                                  "sample_count": 0, "rest_ticks": 0, "pin_value": 0,
                                  "trsync_oid": 0, "trigger_reason": 0})
        mcu.unregister_response("trsync_state", self.trsync_oid)
        reply = mcu.query("trsync_trigger", {"oid": self.trsync_oid,
                                             "reason": REASON_HOST_REQUEST}, "trsync_state")
        self._home_end_clock = None
        for remote in self.remotes.values():
            remote.stop()
        if reply is None:
            return home_end_time
        for stepper in self.local_steppers:
            stepper.note_homing_end()
        if reply["trigger_reason"] >= REASON_COMMS_TIMEOUT:
            raise GCodeError("Communication timeout during homing")
        return home_end_time

    def _build_config(self):
        self.mcu.add_config_cmd("config_endstop", {
            "oid": self.oid, "pin": self.pin, "pull_up": int(bool(self.pullup))})
        self.mcu.add_config_cmd("config_trsync", {"oid": self.trsync_oid})


def start_trsync(mcu, oid, steppers, print_time, report_offset, timeout):
    """Arm trsync `oid` for a homing move at print_time: reports every
    0.3 x timeout from report_offset of that period on, its steppers stop
    when it triggers, and it expires after `timeout` unless extended
    (Klipper's MCU_trsync.start)."""
    clock = mcu.print_time_to_clock(print_time)
    report_ticks = mcu.seconds_to_clock(timeout * TRSYNC_REPORT_RATIO)
    report_clock = clock + int(report_ticks * report_offset + .5)
    mcu.send("trsync_start", {"oid": oid, "report_clock": report_clock & 0xffffffff,
                              "report_ticks": report_ticks,
                              "expire_reason": REASON_COMMS_TIMEOUT}, req_clock=clock)
    for stepper in steppers:
        mcu.send("stepper_stop_on_trigger", {"oid": stepper.oid, "trsync_oid": oid},
                 req_clock=clock)
    expire_clock = clock + mcu.seconds_to_clock(timeout)
    mcu.send("trsync_set_timeout", {"oid": oid, "clock": expire_clock & 0xffffffff},
             req_clock=clock)


class RemoteTrsync:
    """The trsync on another MCU that stops that MCU's steppers when an
    endstop triggers (Klipper's MCU_trsync for a secondary MCU): its oid is
    taken when its first stepper is added; it starts with the endstop's,
    its reports offset by a share of the report period, and is stopped
    (trsync_trigger, answered when the MCU is live) when the move ends.
    Offline nothing else is sent: batch mode has no trigger to pass on."""

    def __init__(self, mcu):
        self.mcu = mcu
        self.oid = mcu.create_oid()
        self.steppers = []
        mcu.register_config_callback(
            lambda: mcu.add_config_cmd("config_trsync", {"oid": self.oid}))

    def add_stepper(self, stepper):
        if stepper not in self.steppers:
            self.steppers.append(stepper)

    def stop(self):
        reply = self.mcu.query("trsync_trigger", {"oid": self.oid,
                                                  "reason": REASON_HOST_REQUEST}, "trsync_state")
        if reply is not None:
            for stepper in self.steppers:
                stepper.note_homing_end()
