"""Steppers and rails.

A `Stepper` is one motor driver on an MCU: its step/dir pins, its step
distance, its step solver (a C stepper-kinematics object reading a
trapezoid queue) and its step compressor. A `Rail` is an axis made of one
stepper plus its endstop and travel limits (stepper_x, stepper_a, ...).

Step distance (docs/Rotation_Distance.md):
    step_dist = rotation_distance / (full_steps_per_rotation * microsteps * gear_ratio)
"""
import math

from ..chelper import motion
from ..gcode.command import finite_float
from ..gcode.errors import GCodeError
from . import bounds
from .mcu import MAX_STEPCOMPRESS_ERROR

DEFAULT_STEP_PULSE_DURATION = 0.000002   # stepper.py: 2 us
# Step on both edges (a TMC driver asks for it) is refused for long
# pulses, and on MCUs whose firmware has only the older STEPPER_BOTH_EDGE
# for pulses over 150 ns (Klipper's stepper.py MIN_BOTH_EDGE_DURATION,
# MIN_OPTIMIZED_BOTH_EDGE_DURATION).
MIN_BOTH_EDGE_DURATION = 0.000000500
MIN_OPTIMIZED_BOTH_EDGE_DURATION = 0.000000150
MAX_EXTRA_STEPPERS = 99                  # [stepper_z1] .. [stepper_z98]


class ConfigValueError(Exception):
    pass


def parse_gear_ratio(section):
    """`gear_ratio: 50:17, 3:1` -> product of output/input ratios."""
    ratio = 1.
    for pair in section.getlist("gear_ratio", [], sep=","):
        parts = [p.strip() for p in pair.split(":")]
        try:
            out_teeth, in_teeth = (finite_float(p) for p in parts)
        except ValueError:
            raise section.error("Invalid gear_ratio '%s'" % pair, "gear_ratio")
        if out_teeth <= 0. or in_teeth <= 0.:
            # Klipper divides by zero here; a gear has a positive tooth count.
            raise section.error("Invalid gear_ratio '%s': both gears must be above 0"
                                % pair, "gear_ratio")
        ratio *= out_teeth / in_teeth
    return ratio


def parse_step_distance(section, units_in_radians=False):
    if units_in_radians:
        # Angles are in radians: one motor turn (before gearing) is 2*pi.
        rotation_dist = 2. * math.pi
        if section.has_option("rotation_distance"):
            raise section.error("rotation_distance is not used by a stepper in radians"
                                " (use gear_ratio)", "rotation_distance")
    else:
        rotation_dist = section.getfloat("rotation_distance", above=0.)
    microsteps = section.getint("microsteps", minval=1)
    full_steps = section.getint("full_steps_per_rotation", 200, minval=1)
    if full_steps % 4:
        raise section.error("full_steps_per_rotation must be a multiple of 4",
                            "full_steps_per_rotation")
    gear_ratio = parse_gear_ratio(section)
    step_dist = rotation_dist / gear_ratio / (full_steps * microsteps)
    problem = bounds.step_distance_problem(step_dist)
    if problem is not None:
        where = "rotation_distance" if section.has_option("rotation_distance") else "microsteps"
        raise section.error("[%s] %s" % (section.name, problem), where)
    return step_dist, rotation_dist


class Stepper:
    """One stepper driver: pins, step distance, solver and compressor."""

    def __init__(self, section, hw, units_in_radians=False):
        self.name = section.name
        step = section.getpin("step_pin", can_invert=True)
        direction = section.getpin("dir_pin", can_invert=True)
        self.mcu = hw.lookup(step.chip, section, "step_pin")
        self.mcu.check_pin(step.pin, section.location("step_pin"))
        self.mcu.check_pin(direction.pin, section.location("dir_pin"))
        self.step_pin = step
        self.dir_pin = direction
        self.step_dist, self.rotation_dist = parse_step_distance(
            section, units_in_radians)
        self.step_pulse_duration = section.getfloat(
            "step_pulse_duration", None, minval=0., maxval=.001)
        self.want_both_edges = False     # a TMC driver's request
        self.enable_pin_text = section.get("enable_pin", None)
        self.enable_pin_where = section.location("enable_pin")   # for errors
        self.oid = None
        self.clock_adj = None
        self.compressor = None
        self.kinematics = None
        self.trapq = None
        self._active_callbacks = []
        self.step_rate_failed = False

    def allocate(self):
        """Take the stepper's oid (after its endstop's, as Klipper does)."""
        self.oid = self.mcu.create_oid()
        max_error = int(MAX_STEPCOMPRESS_ERROR * self.mcu.clock_freq)
        self.compressor = motion.StepCompress(self.oid, max_error,
                                              invert_dir=self.dir_pin.invert)
        self.clock_adj = self.mcu.clock_adj     # the compressor's time mapping
        self.compressor.set_time(*self.clock_adj)
        self.mcu.register_config_callback(self._build_config)

    def setup_default_pulse_duration(self, duration, both_edges):
        """A driver's pulse length (unless the config sets one) and its
        wish to step on both edges (TMC drivers: 100 ns, both edges)."""
        if self.step_pulse_duration is None:
            self.step_pulse_duration = duration
        self.want_both_edges = both_edges

    def _both_edges(self, duration):
        """Whether to step on both edges: wanted, short enough a pulse,
        and the firmware can (its STEPPER_*EDGE constants) and has no
        optimized step/unstep of its own (AVR)."""
        constants = self.mcu.constants
        new_style = int(constants.get("STEPPER_STEP_BOTH_EDGE", 0))
        old_style = int(constants.get("STEPPER_BOTH_EDGE", 0))
        if not self.want_both_edges or duration > MIN_BOTH_EDGE_DURATION:
            return False
        if old_style and duration > MIN_OPTIMIZED_BOTH_EDGE_DURATION:
            return False
        if not old_style and not new_style:
            return False
        return not int(constants.get("STEPPER_OPTIMIZED_UNSTEP", 0))

    def _build_config(self):
        duration = self.step_pulse_duration
        if duration is None:
            duration = DEFAULT_STEP_PULSE_DURATION
        invert_step = int(self.step_pin.invert)
        if self._both_edges(duration):
            invert_step = -1                  # toggle on every step edge
            if int(self.mcu.constants.get("STEPPER_BOTH_EDGE", 0)):
                duration = 0.                 # the older firmware's switch
        self.mcu.add_config_cmd("config_stepper", {
            "oid": self.oid, "step_pin": self.step_pin.pin,
            "dir_pin": self.dir_pin.pin, "invert_step": invert_step,
            "step_pulse_ticks": self.mcu.seconds_to_clock(duration)})

    # ---- motion -------------------------------------------------------------
    def set_stepper_kinematics(self, sk):
        self.kinematics = sk
        sk.set_stepcompress(self.compressor, self.step_dist)
        if self.trapq is not None:
            sk.set_trapq(self.trapq)

    def set_trapq(self, trapq):
        self.trapq = trapq
        self.kinematics.set_trapq(trapq)

    def set_position(self, coord):
        self.kinematics.set_position(coord[0], coord[1], coord[2])

    def add_active_callback(self, callback):
        self._active_callbacks.append(callback)

    def generate_steps(self, flush_time):
        """Solve steps up to flush_time; tell listeners (the enable line)
        the print time at which this stepper first moves."""
        if self._active_callbacks:
            first_active = self.kinematics.check_active(flush_time)
            if first_active:
                callbacks, self._active_callbacks = self._active_callbacks, []
                for callback in callbacks:
                    callback(first_active)
        if self.step_rate_failed:
            return
        try:
            self.kinematics.generate_steps(flush_time)
        except motion.StepRateError as e:
            self._step_rate_failed(e)

    def plain_solver(self):
        """The kinematics when generate_steps would do nothing but solve
        it (no active callbacks waiting, not failed), else None: a flush
        may then solve it with others in one C call (motion.StepperGroup)
        and hand a failure's code to generation_failed."""
        if self._active_callbacks or self.step_rate_failed:
            return None
        return self.kinematics

    def generation_failed(self, ret):
        """Raise what generate_steps raises for sk_generate_steps' `ret`."""
        try:
            self.kinematics.check_generated(ret)
        except motion.StepRateError as e:
            self._step_rate_failed(e)

    def _step_rate_failed(self, error):
        # The input asked for it (a tiny step distance, an absurd speed):
        # a G-code error naming the stepper, not a bug.  The stepper then
        # stops stepping (Klipper would shut down), so the error is
        # reported once.
        self.step_rate_failed = True
        raise GCodeError("%s: %s (at step distance %.6g)" % (
            self.name, str(error).split(": ", 1)[-1], self.step_dist)) from None

    def get_commanded_position(self):
        return self.kinematics.commanded_position

    def note_homing_end(self):
        """A homing move ended with a live MCU (Klipper's stepper.py does
        the same): the trsync's trigger made the MCU drop this stepper's
        queue and refuse steps until reset_step_clock, so the compressor
        restarts from clock 0 and queues reset_step_clock clock=0."""
        self.compressor.reset(0)
        self.compressor.queue_reset_step_clock(0)


def make_endstop(section, hw, option="endstop_pin"):
    """The Endstop of a section's endstop pin (its oids taken now), or
    None when the option is absent."""
    spec = section.getpin(option, None, can_invert=True, can_pullup=True)
    if spec is None:
        return None
    return hw.setup_endstop(spec, section, option)


class HomingInfo:
    """A rail's homing options (a plain class, not a dataclass: start-up,
    see host/pins.py)."""

    def __init__(self, speed, position_endstop, retract_speed, retract_dist,
                 positive_dir, second_homing_speed):
        self.speed = speed
        self.position_endstop = position_endstop
        self.retract_speed = retract_speed
        self.retract_dist = retract_dist
        self.positive_dir = positive_dir
        self.second_homing_speed = second_homing_speed


class Rail:
    """An axis from a [stepper_*] section: its stepper, any extra steppers
    ([stepper_z1], [stepper_z2] ... up to the first missing number, as
    Klipper's multi-stepper rails), the endstops and the travel limits.

    Each extra stepper stops on its own endstop_pin if it has one (the
    same pin within the rail shares one endstop), else on the rail's
    first endstop; all endstops of a rail arm together when it homes."""

    def __init__(self, section, hw, need_position_minmax=True,
                 default_position_endstop=None, units_in_radians=False,
                 multi=True):
        self.name = section.name.split()[-1]
        self.hw = hw
        self.units_in_radians = units_in_radians
        self._steppers = []
        self._endstops = []            # [(pin key, endstop)]
        self.stepper = self._add_stepper(section)
        self.endstop = self._endstops[0][1] if self._endstops else None
        chip_default = getattr(self.endstop, "position_endstop", None)
        if chip_default is not None and default_position_endstop is None:
            default_position_endstop = chip_default
        self._read_limits(section, need_position_minmax, default_position_endstop)
        if multi:
            for extra in extra_stepper_sections(section):
                self._add_stepper(extra)

    def _add_stepper(self, section):
        stepper = Stepper(section, self.hw, self.units_in_radians)
        spec = section.getpin("endstop_pin", None, can_invert=True, can_pullup=True)
        endstop = None
        if spec is not None:
            endstop = self._lookup_endstop(spec, section)
        elif self._endstops:
            endstop = self._endstops[0][1]
        stepper.allocate()
        self.hw.register_stepper(stepper)
        if endstop is not None:
            endstop.add_stepper(stepper)
        self._steppers.append(stepper)
        return stepper

    def _lookup_endstop(self, key, section):
        for known, endstop in self._endstops:
            if (known.chip, known.pin) == (key.chip, key.pin):
                if known != key:      # (sic: Klipper's message)
                    raise section.error("Pinter rail %s shared endstop pin %s "
                                        "must specify the same pullup/invert settings"
                                        % (self.name, section.get("endstop_pin")),
                                        "endstop_pin")
                return endstop
        endstop = self.hw.setup_endstop(key, section, "endstop_pin")
        self._endstops.append((key, endstop))
        return endstop

    def _read_limits(self, section, need_position_minmax, default_position_endstop):
        # klipsim's coordinate bound (host/bounds.py) as a config range
        near = dict(minval=-bounds.MAX_COORDINATE, maxval=bounds.MAX_COORDINATE)
        if default_position_endstop is None:
            self.position_endstop = section.getfloat("position_endstop", **near)
        else:
            self.position_endstop = section.getfloat(
                "position_endstop", default_position_endstop, **near)
        if need_position_minmax:
            self.position_min = section.getfloat("position_min", 0., **near)
            self.position_max = section.getfloat(
                "position_max", above=self.position_min, maxval=bounds.MAX_COORDINATE)
        else:
            self.position_min, self.position_max = 0., self.position_endstop
        if not self.position_min <= self.position_endstop <= self.position_max:
            raise section.error(
                "position_endstop must be between position_min and position_max",
                "position_endstop")
        speed = section.getfloat("homing_speed", 5., above=0.)
        second = section.getfloat("second_homing_speed", speed / 2., above=0.)
        retract_speed = section.getfloat("homing_retract_speed", speed, above=0.)
        retract_dist = section.getfloat("homing_retract_dist", 5., minval=0.)
        mid = (self.position_min + self.position_max) / 2.
        default_positive = self.position_endstop > mid
        positive_dir = section.getboolean("homing_positive_dir", default_positive)
        self.homing = HomingInfo(speed, self.position_endstop, retract_speed,
                                 retract_dist, positive_dir, second)

    def endstops(self):
        return [endstop for _, endstop in self._endstops]

    def get_range(self):
        return self.position_min, self.position_max

    def steppers(self):
        return list(self._steppers)

    def setup_itersolve(self, sk):
        """`sk` drives the first stepper; every extra stepper gets a twin."""
        self.stepper.set_stepper_kinematics(sk)
        for stepper in self._steppers[1:]:
            stepper.set_stepper_kinematics(sk.remake())

    def set_trapq(self, trapq):
        for stepper in self._steppers:
            stepper.set_trapq(trapq)

    def set_position(self, coord):
        for stepper in self._steppers:
            stepper.set_position(coord)


def extra_stepper_sections(section):
    """[NAME1], [NAME2] ... of a rail's section, up to the first missing."""
    config = section.config
    found = []
    for index in range(1, MAX_EXTRA_STEPPERS):
        name = "%s%d" % (section.name, index)
        if not config.has_section(name):
            break
        found.append(config.section(name))
    return found
