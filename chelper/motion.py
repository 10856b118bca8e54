"""Python face of the C motion helpers: trapezoid queue, stepper
kinematics with the iterative step solver, input shaping, and step
compression into queue_step / set_next_step_dir / reset_step_clock.

All times are print times in seconds (float); clocks are integer MCU
ticks. Objects own their C memory and free it when collected; a stepper
kinematics object keeps its trapq and compressor alive.

Typical use (one stepper)::

    tq = TrapQ()
    sk = cartesian_stepper('x'); sk.set_trapq(tq)
    sc = StepCompress(oid=2, max_error_ticks=400); sc.set_time(0., 16e6)
    sk.set_stepcompress(sc, step_dist=1 / 80)
    sk.set_position(100., 100., 10.)
    tq.append(0.25, accel_t, cruise_t, decel_t, start_pos, axes_r,
              start_v, cruise_v, accel)
    sk.generate_steps(flush_time); sc.flush(move_clock)
    msgs = sc.take_messages()

Kinematics: cartesian_stepper('x'|'y'|'z'), corexy_stepper('+'|'-'),
corexz_stepper('+'|'-'), delta_stepper(arm2, tx, ty), deltesian_stepper(
arm2, arm_x), polar_stepper('r'|'a'), winch_stepper(ax, ay, az),
rotary_delta_stepper(shoulder_radius, shoulder_height, angle, upper,
lower), extruder_stepper() (with set_pressure_advance), and
input_shaper(sk) wrapping any of them (pulses from chelper.shapers).

Errors from C raise MotionError with the compressor's one-line message
(it names the stepper's oid).

Extruder trapq convention (as Klipper's extruder): x is the filament
position; axes_r = (1.0, 1.0 if pressure advance applies to the move else
0.0, 0.0) with signed extruder velocities/acceleration.
"""
from klipsim.chelper._chelper import ffi, lib

_message_dtype = []   # numpy's dtype, made when first needed (start-up)


def message_dtype():
    """numpy dtype laid out as struct sc_message (stepcompress.h):
    req_clock, min_clock, p0, p1, p2, kind, reserved.  numpy is imported
    here, not at the top, so a run that emits no steps never loads it
    (issue 10: start-up CPU)."""
    if not _message_dtype:
        import numpy as np
        _message_dtype.append(np.dtype({
            "names": ["kind", "req_clock", "min_clock", "p0", "p1", "p2"],
            "formats": ["u1", "u8", "u8", "i8", "i8", "i8"],
            "offsets": [ffi.offsetof("struct sc_message", f) for f in
                        ("kind", "req_clock", "min_clock", "p0", "p1", "p2")],
            "itemsize": ffi.sizeof("struct sc_message"),
        }))
    return _message_dtype[0]


QUEUE_STEP, SET_NEXT_STEP_DIR, RESET_STEP_CLOCK = 0, 1, 2
MOVE_FIELDS = ("print_time", "move_t", "start_v", "half_accel",
               "start_pos", "axes_r")


class MotionError(Exception):
    """A C motion helper refused its input (message names the oid)."""


class StepRateError(MotionError):
    """The step solver's bound (itersolve.c MAX_STEP_RATE): a stepper asked
    to step faster than 10 million times a second; the input's fault."""


STEP_RATE_ERROR = -2     # sk_generate_steps' return for StepRateError


# Largest magnitude passed to a C setter: the C code assumes finite, sane
# numbers (a nan smoothing time or a 1e300 s shaper pulse crashes it), so
# the setters below refuse anything else here, before the cffi call.
# Generous: the host's own bounds (host/bounds.py) are far tighter.
MAX_C_MAGNITUDE = 1e30


def _require_finite(what, *values):
    for value in values:
        if not -MAX_C_MAGNITUDE <= value <= MAX_C_MAGNITUDE:   # False for nan
            raise MotionError("%s: %r is not a finite number below %g"
                              % (what, value, MAX_C_MAGNITUDE))


class TrapQ:
    """Queue of constant-acceleration move segments in print time."""

    def __init__(self):
        self._tq = ffi.gc(lib.trapq_new(), lib.trapq_delete)

    def append(self, print_time, accel_t, cruise_t, decel_t, start_pos,
               axes_r, start_v, cruise_v, accel):
        sx, sy, sz = start_pos
        rx, ry, rz = axes_r
        lib.trapq_append(self._tq, print_time, accel_t, cruise_t, decel_t,
                         sx, sy, sz, rx, ry, rz, start_v, cruise_v, accel)

    def finalize_moves(self, print_time, clear_history_time):
        lib.trapq_finalize_moves(self._tq, print_time, clear_history_time)

    def set_position(self, print_time, pos):
        x, y, z = pos
        lib.trapq_set_position(self._tq, print_time, x, y, z)

    def position_at(self, print_time):
        """(x, y, z) at a print time from live or history moves, or None."""
        out = ffi.new("struct tq_coord *")
        if lib.trapq_position_at(self._tq, print_time, out):
            return None
        return (out.x, out.y, out.z)

    def extract_moves(self, max_count=1000, start_time=0.,
                      end_time=float("inf")):
        """Moves overlapping [start_time, end_time], oldest first, as dicts
        (history first, then live; stationary gap fillers included)."""
        buf = ffi.new("struct tq_move[]", max_count)
        n = lib.trapq_copy_moves(self._tq, buf, max_count, start_time,
                                 end_time)
        return [_move_dict(buf[i]) for i in range(n)]


def _move_dict(m):
    return {
        "print_time": m.print_time, "move_t": m.move_t,
        "start_v": m.start_v, "half_accel": m.half_accel,
        "start_pos": (m.start_pos.x, m.start_pos.y, m.start_pos.z),
        "axes_r": (m.axes_r.x, m.axes_r.y, m.axes_r.z),
    }


class StepCompress:
    """Step compressor of one stepper (oid) into queue_step messages."""

    def __init__(self, oid, max_error_ticks, invert_dir=False):
        self.oid = oid
        self._sc = ffi.gc(lib.stepcompress_new(oid, int(max_error_ticks),
                                               int(bool(invert_dir))),
                          lib.stepcompress_delete)

    def _check(self, ret):
        if ret:
            raise MotionError(ffi.string(lib.stepcompress_error(self._sc))
                              .decode())

    def set_invert_dir(self, invert_dir):
        """Invert the direction pin from now on (Klipper's
        SET_EXTRUDER_ROTATION_DISTANCE with a negative distance): steps
        keep their logical direction; set_next_step_dir is sent only when
        the physical direction actually changes."""
        lib.stepcompress_set_invert_dir(self._sc, int(bool(invert_dir)))

    @property
    def invert_dir(self):
        return bool(lib.stepcompress_invert_dir(self._sc))

    def set_time(self, time_offset, mcu_freq):
        lib.stepcompress_set_time(self._sc, time_offset, mcu_freq)

    def append_clock(self, sdir, clock):
        """Append one step at an absolute clock (tests, custom sources)."""
        self._check(lib.stepcompress_append_clock(self._sc, int(sdir), clock))

    def append(self, sdir, print_time, step_time=0.):
        self._check(lib.stepcompress_append(self._sc, int(sdir), print_time,
                                            step_time))

    def commit(self):
        self._check(lib.stepcompress_commit(self._sc))

    def flush(self, move_clock):
        """Compress queued steps into messages until the last emitted step
        reaches move_clock. The held-back step is included when it is at
        or before move_clock, unless the solver generated steps less than
        750 us (the step+dir+step window) past it."""
        self._check(lib.stepcompress_flush(self._sc, int(move_clock)))

    def reset(self, last_step_clock):
        self._check(lib.stepcompress_reset(self._sc, int(last_step_clock)))

    def queue_reset_step_clock(self, clock):
        self._check(lib.stepcompress_queue_reset_step_clock(self._sc,
                                                            int(clock)))

    @property
    def last_step_clock(self):
        return int(lib.stepcompress_last_step_clock(self._sc))

    @property
    def position(self):
        return int(lib.stepcompress_position(self._sc))

    def find_past_position(self, clock):
        """Net steps (logical direction 1 positive) after every emitted
        step at or before `clock`, from the kept history of queue_step
        runs (steps not yet flushed are not included; at most the newest
        8192 runs are kept, older ones go unless expired earlier)."""
        return int(lib.stepcompress_find_past_position(self._sc, int(clock)))

    def set_last_position(self, clock, position):
        """Flush everything, then count positions from `position` at
        `clock` on (Klipper's stepcompress_set_last_position)."""
        self._check(lib.stepcompress_set_last_position(self._sc, int(clock),
                                                       int(position)))

    def expire_history(self, clock):
        """Forget emitted runs that ended before `clock`."""
        lib.stepcompress_expire_history(self._sc, int(clock))

    def take_messages(self):
        """Messages produced so far (and forgets them), in order."""
        import numpy as np
        n = lib.stepcompress_message_count(self._sc)
        out = np.zeros(n, dtype=message_dtype())
        if n:
            buf = ffi.cast("struct sc_message *", ffi.from_buffer(out))
            lib.stepcompress_take_messages(self._sc, buf, n)
        return out


class StepperKinematics:
    """One stepper's kinematics plus the step solver state."""

    def __init__(self, c_sk):
        if c_sk == ffi.NULL:
            raise ValueError("unknown stepper kinematics parameters")
        self._sk = ffi.gc(c_sk, lib.sk_delete)
        self._trapq = self._stepcompress = None

    def set_trapq(self, tq):
        self._trapq = tq
        lib.sk_set_trapq(self._sk, tq._tq if tq is not None else ffi.NULL)

    def set_stepcompress(self, sc, step_dist):
        _require_finite("step distance", step_dist)
        if step_dist <= 0.:
            raise MotionError("step distance %r is not above 0" % (step_dist,))
        self._stepcompress = sc
        lib.sk_set_stepcompress(self._sk, sc._sc, step_dist)

    def set_position(self, x, y, z):
        lib.sk_set_position(self._sk, x, y, z)

    @property
    def commanded_position(self):
        return lib.sk_commanded_position(self._sk)

    @commanded_position.setter
    def commanded_position(self, pos):
        lib.sk_set_commanded_position(self._sk, pos)

    def calc_position_from_coord(self, x, y, z):
        return lib.sk_calc_position_from_coord(self._sk, x, y, z)

    def position_at(self, print_time):
        """Stepper position at a print time from its trapq (nan if none)."""
        return lib.sk_calc_position_at(self._sk, print_time)

    @property
    def active_axes(self):
        flags = lib.sk_active_flags(self._sk)
        return "".join(a for i, a in enumerate("xyz") if flags & (1 << i))

    @property
    def gen_steps_pre_active(self):
        return lib.sk_pre_active(self._sk)

    @property
    def gen_steps_post_active(self):
        return lib.sk_post_active(self._sk)

    @property
    def last_flush_time(self):
        return lib.sk_last_flush_time(self._sk)

    def check_active(self, flush_time):
        return lib.sk_check_active(self._sk, flush_time)

    def use_generic_solver(self):
        """Solve through the position callback's pointer even where the
        kinematics has a specialised solver (the tests' reference)."""
        lib.sk_use_generic_solver(self._sk)

    def generate_steps(self, flush_time):
        self.check_generated(lib.sk_generate_steps(self._sk, flush_time))

    def check_generated(self, ret):
        """Raise the error sk_generate_steps' return `ret` stands for."""
        if ret == STEP_RATE_ERROR:
            raise StepRateError(ffi.string(lib.stepcompress_error(self._stepcompress._sc))
                                .decode())
        if ret:
            self._stepcompress._check(-1)


class StepperGroup:
    """Several StepperKinematics solved up to the same time by one C call
    (sk_generate_steps_many), in the order given: the same steps as
    calling each one's generate_steps in turn."""

    def __init__(self, members):
        self.members = list(members)
        self._sks = ffi.new("struct stepper_kin *[]", [k._sk for k in self.members] or 1)
        self._failed = ffi.new("int *")

    def generate_steps(self, flush_time):
        """None, or (index, return code) of the member that failed (the
        members after it were not solved); its check_generated(code)
        raises the error its own generate_steps would have raised."""
        ret = lib.sk_generate_steps_many(self._sks, len(self.members), flush_time,
                                         self._failed)
        if ret:
            return self._failed[0], ret
        return None


class ExtruderStepper(StepperKinematics):
    """Extruder kinematics: filament x of its own trapq, with smoothed
    pressure advance (moves with axes_r[1] != 0 get the advance)."""

    def set_pressure_advance(self, pressure_advance, smooth_time,
                             print_time=0.):
        """Moves starting at or after print_time use pressure_advance;
        smooth_time (s) > 0 enables smoothing (Klipper passes 0 when the
        advance is 0). Scan windows become smooth_time / 2."""
        _require_finite("pressure advance", print_time, pressure_advance, smooth_time)
        if smooth_time < 0.:
            raise MotionError("pressure advance smooth time %r is below 0" % (smooth_time,))
        lib.extruder_set_pressure_advance(self._sk, print_time,
                                          pressure_advance, smooth_time)


class ShapedStepper(StepperKinematics):
    """Input-shaping wrapper around another stepper kinematics: the wrapped
    kinematics sees shaped x/y coordinates. Use the wrapper (not the
    wrapped object) for set_trapq / set_stepcompress / generate_steps."""

    def __init__(self, orig):
        super().__init__(lib.input_shaper_new(orig._sk))
        self.wrapped = orig

    def set_shaper(self, axis, amplitudes, times):
        """Pulses (A_i >= 0, T_i) for 'x' or 'y'; empty lists = no shaping.
        Ignored for an axis the wrapped kinematics does not depend on."""
        n = len(amplitudes)
        _require_finite("input shaper %s" % axis, *amplitudes, *times)
        if n != len(times) or lib.input_shaper_set_pulses(
                self._sk, axis.encode(), n, ffi.new("double[]", list(amplitudes) or [0.]),
                ffi.new("double[]", list(times) or [0.])):
            raise MotionError("input shaper %s: invalid pulses (at most 5,"
                              " amplitudes >= 0 with a positive sum)" % axis)

    def pulses(self, axis):
        """Normalised (amplitudes, offsets) in use for an axis."""
        a, t = ffi.new("double[5]"), ffi.new("double[5]")
        n = lib.input_shaper_get_pulses(self._sk, axis.encode(), a, t)
        return list(a[0:n]), list(t[0:n])


class GenericCartesianStepper(StepperKinematics):
    """generic_cartesian: position a_x * x + a_y * y + a_z * z."""

    def __init__(self, a_x, a_y, a_z):
        super().__init__(lib.generic_cartesian_stepper_new(a_x, a_y, a_z))

    def set_coeffs(self, a_x, a_y, a_z):
        lib.generic_cartesian_set_coeffs(self._sk, a_x, a_y, a_z)


class DualCarriageStepper(StepperKinematics):
    """Dual-carriage wrapper: the wrapped kinematics sees x * scale +
    offset (and y likewise); scale 0 parks the carriage. Use the wrapper
    for set_trapq / set_stepcompress / generate_steps."""

    def __init__(self, orig):
        super().__init__(lib.dual_carriage_stepper_new(orig._sk))
        self.wrapped = orig

    def set_transform(self, axis, scale, offset):
        if lib.dual_carriage_set_transform(self._sk, axis.encode(), scale, offset):
            raise ValueError("dual carriage axis must be 'x' or 'y', not %r" % (axis,))


def input_shaper(orig):
    return ShapedStepper(orig)


def _remakeable(factory):
    """A factory whose results can make a twin (`sk.remake()`): each
    extra stepper of a rail (stepper_z1 ...) needs a solver of its own."""
    def make(*args):
        sk = factory(*args)
        sk.remake = lambda: make(*args)
        return sk
    make.__doc__ = factory.__doc__
    return make


@_remakeable
def cartesian_stepper(axis):
    return StepperKinematics(lib.cartesian_stepper_new(axis.encode()))


@_remakeable
def corexy_stepper(kind):
    return StepperKinematics(lib.corexy_stepper_new(kind.encode()))


@_remakeable
def delta_stepper(arm2, tower_x, tower_y):
    _require_finite("delta stepper", arm2, tower_x, tower_y)
    return StepperKinematics(lib.delta_stepper_new(arm2, tower_x, tower_y))


def extruder_stepper():
    return ExtruderStepper(lib.extruder_stepper_new())


@_remakeable
def corexz_stepper(kind):
    """'+': x + z, '-': x - z."""
    return StepperKinematics(lib.corexz_stepper_new(kind.encode()))


@_remakeable
def polar_stepper(kind):
    """'r': arm radius sqrt(x^2+y^2); 'a': bed angle atan2(y, x) in
    radians, continuous past +-pi, commanded angle kept in [-pi, pi]."""
    return StepperKinematics(lib.polar_stepper_new(kind.encode()))


@_remakeable
def winch_stepper(anchor_x, anchor_y, anchor_z):
    """Cable length: distance from the anchor."""
    _require_finite("winch stepper", anchor_x, anchor_y, anchor_z)
    return StepperKinematics(lib.winch_stepper_new(anchor_x, anchor_y,
                                                   anchor_z))


@_remakeable
def deltesian_stepper(arm2, arm_x):
    """z + sqrt(arm2 - (x - arm_x)^2)."""
    _require_finite("deltesian stepper", arm2, arm_x)
    return StepperKinematics(lib.deltesian_stepper_new(arm2, arm_x))


@_remakeable
def rotary_delta_stepper(shoulder_radius, shoulder_height, angle, upper_arm,
                         lower_arm):
    """Upper-arm angle (radians) of the tower at `angle` (radians)."""
    _require_finite("rotary delta stepper", shoulder_radius, shoulder_height,
                    angle, upper_arm, lower_arm)
    return StepperKinematics(lib.rotary_delta_stepper_new(
        shoulder_radius, shoulder_height, angle, upper_arm, lower_arm))
