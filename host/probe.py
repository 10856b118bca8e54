"""[probe] and the probes built like it ([bltouch], [smart_effector],
[probe_eddy_current], [load_cell_probe]): the probe as an endstop
(`probe:z_virtual_endstop`), probing moves and the PROBE, QUERY_PROBE,
PROBE_ACCURACY, PROBE_CALIBRATE and Z_OFFSET_APPLY_PROBE commands
(docs/Config_Reference.md "[probe]", docs/G-Codes.md "[probe]").

Contract:
- `load_probe(printer, section)` (and the variants) gives a `Probe`
  registered as the pin chip "probe"; other objects find it as
  `printer.objects` entry "probe" ... or, simpler, `find_probe(printer)`.
- The interface other modules use (bed mesh, z_tilt, quad_gantry_level):
  `probe.get_offsets()` -> (x, y, z) offsets; `probe.get_probe_params(cmd)`
  -> dict (probe_speed, lift_speed, samples, sample_retract_dist,
  samples_tolerance, samples_tolerance_retries, samples_result);
  `probe.start_probe_session(cmd)` -> session with `run_probe(cmd)`
  (probes at the toolhead's X/Y with every sample and retract),
  `pull_probed_results()` -> [[x, y, z], ...] and `end_probe_session()`;
  `probe.probe_at(cmd=None)` runs one session at the current X/Y and
  returns its result. A result is the toolhead position where the probe
  triggered, as Klipper hands them to its finalize callbacks: the bed is
  at z - z_offset under the probe at (x + x_offset, y + y_offset) (what
  "probe: at X,Y bed will contact at z=Z" reports, `bed_position()`).
  The probe is `printer.objects["probe"]` whatever its section's name.

Batch mode (the reference corpus's README): nothing drives the probe pin,
so every probing move runs its full travel to the Z axis minimum
(stepper_z position_min) and "triggers" there; every sample therefore
reads the same height. Homing Z on the probe drives to that minimum too
(voron_probe_homing: 484.4 mm = 1.5 x (320 - 1.2) + 6.2), then takes
z = z_offset as the homed position.
"""
from ..gcode.errors import GCodeError
from ..gcode.macros import Macro
from .configfile import ConfigError
from .homing import HomingMove

HINT_TIMEOUT = ("\nIf the probe did not move far enough to trigger, then\n"
                "consider reducing the Z axis minimum position so the probe\n"
                "can travel further (the Z minimum position can be negative).\n")
SAMPLES_RESULTS = ("median", "average")


def find_probe(printer):
    """The printer's probe object, or None."""
    for obj in printer.objects.values():
        if isinstance(obj, Probe):
            return obj
    return None


def calc_probe_z_average(positions, method="average"):
    """Mean of [x, y, z] positions, or the one with the median z (mean of
    the middle two for an even count), as Klipper's samples_result."""
    if method != "median":
        count = float(len(positions))
        return [sum(p[i] for p in positions) / count for i in range(3)]
    ordered = sorted(positions, key=lambda p: p[2])
    middle = len(ordered) // 2
    if len(ordered) & 1:
        return list(ordered[middle])
    return calc_probe_z_average(ordered[middle - 1:middle + 1], "average")


def lookup_minimum_z(config):
    """Where probing moves go: the Z rail's position_min (0 without one;
    printer minimum_z_position for deltas)."""
    if config.has_section("stepper_z"):
        return float(config.section("stepper_z").raw("position_min", 0.) or 0.)
    return float(config.section("printer").raw("minimum_z_position", 0.) or 0.)


class NullEndstop:
    """An endstop whose trigger Klipper gets from a sensor klipsim does not
    model (eddy current, load cell): no MCU commands, and like every
    endstop offline it "triggers" at the end of its move."""

    def __init__(self, reactor_of):
        self.steppers = []
        self._reactor_of = reactor_of

    def add_stepper(self, stepper):
        if stepper not in self.steppers:
            self.steppers.append(stepper)

    def home_start(self, print_time, sample_time, sample_count, rest_time,
                   triggered=True):
        return self._reactor_of().completion()

    def home_wait(self, home_end_time):
        return home_end_time


class ProbeEndstop:
    """The probe as the endstop of the Z rail (`probe:z_virtual_endstop`):
    the probe pin's endstop stops every Z stepper; the rail homes to
    position_endstop = z_offset. activate_gcode/deactivate_gcode run
    around each probing move (deactivate_on_each_sample, default on)."""

    def __init__(self, endstop, z_offset, z_min_position, run_gcode):
        self.endstop = endstop
        self.position_endstop = z_offset
        self.z_min_position = z_min_position
        self.run_gcode = run_gcode          # (template name) -> None

    # ---- the pin chip "probe" --------------------------------------------
    def setup_endstop(self, spec, where):
        if spec.pin != "z_virtual_endstop":
            raise ConfigError("Probe virtual endstop only useful as endstop pin", where)
        if spec.invert or spec.pullup:
            raise ConfigError("Can not pullup/invert probe virtual endstop", where)
        return self

    # ---- endstop interface (host/homing.py) ---------------------------------
    @property
    def steppers(self):
        return self.endstop.steppers

    @property
    def mcu(self):
        return getattr(self.endstop, "mcu", None)

    def add_stepper(self, stepper):
        self.endstop.add_stepper(stepper)

    def home_start(self, *args, **kwargs):
        self.run_gcode("activate_gcode")
        return self.endstop.home_start(*args, **kwargs)

    def home_wait(self, home_end_time):
        result = self.endstop.home_wait(home_end_time)
        self.run_gcode("deactivate_gcode")
        return result

    def homing_target(self, axis):
        """The homing move of a rail on this endstop runs to the Z
        minimum (see the module doc), not to position_endstop."""
        return self.z_min_position if axis == 2 else None


class ProbeParams:
    """samples, retract, speeds, tolerance from the section; G-code
    parameters override them per command (Klipper's names)."""

    def __init__(self, section):
        self.speed = section.getfloat("speed", 5., above=0.)
        self.lift_speed = section.getfloat("lift_speed", self.speed, above=0.)
        self.samples = section.getint("samples", 1, minval=1)
        self.sample_retract_dist = section.getfloat("sample_retract_dist", 2., above=0.)
        self.samples_result = section.getchoice("samples_result", SAMPLES_RESULTS, "average")
        self.samples_tolerance = section.getfloat("samples_tolerance", 0.100, minval=0.)
        self.samples_retries = section.getint("samples_tolerance_retries", 0, minval=0)

    def for_command(self, cmd=None):
        def get(kind, key, default, **limits):
            if cmd is None:
                return default
            return getattr(cmd, kind)(key, default, **limits)
        return {
            "probe_speed": get("get_float", "PROBE_SPEED", self.speed, above=0.),
            "lift_speed": get("get_float", "LIFT_SPEED", self.lift_speed, above=0.),
            "samples": get("get_int", "SAMPLES", self.samples, minval=1),
            "sample_retract_dist": get("get_float", "SAMPLE_RETRACT_DIST",
                                       self.sample_retract_dist, above=0.),
            "samples_tolerance": get("get_float", "SAMPLES_TOLERANCE",
                                     self.samples_tolerance, minval=0.),
            "samples_tolerance_retries": get("get_int", "SAMPLES_TOLERANCE_RETRIES",
                                             self.samples_retries, minval=0),
            "samples_result": get("get", "SAMPLES_RESULT", self.samples_result),
        }


class ProbeSession:
    """One probing command's samples (Klipper's probe session)."""

    def __init__(self, probe):
        self.probe = probe
        self.results = []

    def _probe_once(self, toolhead):
        if "z" not in toolhead.kin.homed_axes():
            raise GCodeError("Must home before probe")
        pos = toolhead.get_position()
        pos[2] = self.probe.endstop.z_min_position
        try:
            epos = HomingMove(toolhead, [self.probe.endstop]).homing_move(
                pos, self.speed, probe_pos=True)
        except GCodeError as e:
            message = str(e)
            if "Timeout during endstop homing" in message:
                message += HINT_TIMEOUT
            raise GCodeError(message)
        return epos[:3]

    def run_probe(self, cmd=None):
        """Probe at the toolhead's X/Y: `samples` probing moves with a
        retract between them; keeps the samples_result of them."""
        params = self.probe.get_probe_params(cmd)
        self.speed = params["probe_speed"]
        toolhead = self.probe.printer.toolhead
        probexy = toolhead.get_position()[:2]
        positions, retries = [], 0
        while len(positions) < params["samples"]:
            pos = self._probe_once(toolhead)
            positions.append(pos)
            self.probe.report(pos)
            zs = [p[2] for p in positions]
            if max(zs) - min(zs) > params["samples_tolerance"]:
                if retries >= params["samples_tolerance_retries"]:
                    raise GCodeError("Probe samples exceed samples_tolerance")
                self.probe.printer.dispatcher.info("Probe samples exceed tolerance. Retrying...")
                retries += 1
                positions = []
            if len(positions) < params["samples"]:
                toolhead.manual_move(probexy + [pos[2] + params["sample_retract_dist"]],
                                     params["lift_speed"])
        self.results.append(calc_probe_z_average(positions, params["samples_result"]))

    def pull_probed_results(self):
        results, self.results = self.results, []
        return results

    def end_probe_session(self):
        self.results = []


class Probe:
    """A probe section: its endstop (pin chip "probe"), offsets, sample
    parameters and commands."""

    def __init__(self, printer, section, endstop, z_offset=None):
        self.printer = printer
        self.name = section.name
        self.x_offset = section.getfloat("x_offset", 0.)
        self.y_offset = section.getfloat("y_offset", 0.)
        # Only sensor probes that calibrate it themselves may omit z_offset.
        self.z_offset = section.getfloat("z_offset") if z_offset is None else z_offset
        self.params = ProbeParams(section)
        self.templates = {key: Macro("%s %s" % (section.name, key), section.get(key, ""),
                                     source=section.location(key))
                          for key in ("activate_gcode", "deactivate_gcode")}
        self.endstop = ProbeEndstop(endstop, self.z_offset,
                                    lookup_minimum_z(section.config), self._run_template)
        printer.hw.pin_chips["probe"] = self.endstop
        printer.objects.setdefault("probe", self)     # [bltouch] etc. too
        self._connected = False
        self.last_z_result = 0.
        self.last_query = False
        self._register(printer.dispatcher)

    def _register(self, d):
        for name, handler in (("PROBE", self.cmd_PROBE), ("QUERY_PROBE", self.cmd_QUERY_PROBE),
                              ("PROBE_ACCURACY", self.cmd_PROBE_ACCURACY),
                              ("PROBE_CALIBRATE", self.cmd_PROBE_CALIBRATE),
                              ("Z_OFFSET_APPLY_PROBE", self.cmd_Z_OFFSET_APPLY_PROBE)):
            d.register(name, handler)

    def connect(self, printer):
        """Every stepper that moves Z stops on the probe (LookupZSteppers)."""
        if self._connected:          # listed under two names
            return
        self._connected = True
        for stepper in printer.toolhead.kin.steppers():
            kinematics = stepper.kinematics
            if kinematics is not None and "z" in kinematics.active_axes:
                self.endstop.add_stepper(stepper)

    def _run_template(self, key):
        template = self.templates[key]
        script = template.render({}, "", self.printer.status())
        if script.strip():
            self.printer.dispatcher.run_script(script, "%s %s" % (self.name, key))

    # ---- interface ----------------------------------------------------------
    def get_offsets(self):
        return self.x_offset, self.y_offset, self.z_offset

    def get_probe_params(self, cmd=None):
        return self.params.for_command(cmd)

    def get_status(self):
        return {"name": self.name, "last_query": self.last_query,
                "last_z_result": self.last_z_result}

    def start_probe_session(self, cmd=None):
        return ProbeSession(self)

    def probe_at(self, cmd=None):
        session = self.start_probe_session(cmd)
        session.run_probe(cmd)
        result = session.pull_probed_results()[0]
        session.end_probe_session()
        return result

    def bed_position(self, toolhead_pos):
        """Where a probe at toolhead position `toolhead_pos` meets the bed."""
        return [toolhead_pos[0] + self.x_offset, toolhead_pos[1] + self.y_offset,
                toolhead_pos[2] - self.z_offset]

    def report(self, toolhead_pos):
        x, y, z = self.bed_position(toolhead_pos)
        self.printer.dispatcher.info("probe: at %.3f,%.3f bed will contact at z=%.6f"
                                     % (x, y, z))

    # ---- commands -------------------------------------------------------------
    def cmd_PROBE(self, cmd):
        pos = self.bed_position(self.probe_at(cmd))
        self.printer.dispatcher.info("Result is z=%.6f" % (pos[2],))
        self.last_z_result = pos[2]

    def cmd_QUERY_PROBE(self, cmd):
        """Batch mode has no MCU to ask: the probe reads open."""
        self.printer.toolhead.get_last_move_time()
        self.last_query = False
        self.printer.dispatcher.info("probe: open")

    def cmd_PROBE_ACCURACY(self, cmd):
        params = self.get_probe_params(cmd)
        count = cmd.get_int("SAMPLES", 10, minval=1)
        toolhead = self.printer.toolhead
        pos = toolhead.get_position()
        self.printer.dispatcher.info(
            "PROBE_ACCURACY at X:%.3f Y:%.3f Z:%.3f (samples=%d retract=%.3f"
            " speed=%.1f lift_speed=%.1f)\n" % (pos[0], pos[1], pos[2], count,
                                               params["sample_retract_dist"],
                                               params["probe_speed"], params["lift_speed"]))
        session = self.start_probe_session(cmd)
        for _ in range(count):
            session.run_probe(_OneSample(cmd))
            z = toolhead.get_position()[2]
            toolhead.manual_move([None, None, z + params["sample_retract_dist"]],
                                 params["lift_speed"])
        positions = session.pull_probed_results()
        session.end_probe_session()
        positions = [self.bed_position(p) for p in positions]
        zs = [p[2] for p in positions]
        mean = calc_probe_z_average(positions)[2]
        sigma = (sum((z - mean) ** 2 for z in zs) / len(zs)) ** .5
        self.printer.dispatcher.info(
            "probe accuracy results: maximum %.6f, minimum %.6f, range %.6f, "
            "average %.6f, median %.6f, standard deviation %.6f"
            % (max(zs), min(zs), max(zs) - min(zs), mean,
               calc_probe_z_average(positions, "median")[2], sigma))

    def cmd_PROBE_CALIBRATE(self, cmd):
        """Probe, lift 5 mm, move the nozzle over the probed point; the
        manual TESTZ/ACCEPT dialogue that follows needs a person, so it
        ends there (with a warning)."""
        params = self.get_probe_params(cmd)
        toolhead = self.printer.toolhead
        self.probe_at(cmd)
        curpos = toolhead.get_position()
        curpos[2] += 5.
        toolhead.manual_move(curpos, params["lift_speed"])
        curpos[0] += self.x_offset
        curpos[1] += self.y_offset
        toolhead.manual_move(curpos, params["probe_speed"])
        self.printer.dispatcher.warn("%s: PROBE_CALIBRATE: the manual probe (TESTZ/ACCEPT)"
                                     " is not modelled by klipsim" % (cmd.location,))

    def cmd_Z_OFFSET_APPLY_PROBE(self, cmd):
        offset = self.printer.gcode_move.base_position[2]
        if offset == 0:
            self.printer.dispatcher.info("Nothing to do: Z Offset is 0")
            return
        self.printer.dispatcher.info(
            "%s: z_offset: %.3f\nThe SAVE_CONFIG command will update the printer config"
            " file\nwith the above and restart the printer." % (self.name, self.z_offset - offset))


class _OneSample:
    """A command's parameters with SAMPLES=1 (PROBE_ACCURACY probes one
    sample per reading)."""

    def __init__(self, cmd):
        self.cmd = cmd

    def get_int(self, key, default, **limits):
        if key == "SAMPLES":
            return 1
        return self.cmd.get_int(key, default, **limits)

    def __getattr__(self, name):
        return getattr(self.cmd, name)


# ---- loaders ------------------------------------------------------------------
def _pin_endstop(printer, section, option="pin"):
    return printer.hw.setup_endstop(
        section.getpin(option, can_invert=True, can_pullup=True), section, option)


def load_probe(printer, section):
    section.getboolean("deactivate_on_each_sample", True)
    return Probe(printer, section, _pin_endstop(printer, section))


def load_smart_effector(printer, section):
    """[smart_effector]: a probe on `pin`; its control_pin (sensitivity,
    recovery) only acts in SET_SMART_EFFECTOR/RESET_SMART_EFFECTOR."""
    probe = Probe(printer, section, _pin_endstop(printer, section))
    for option in ("control_pin", "probe_accel", "recovery_time"):
        section.get(option, None)
    return probe


def load_unmodelled_probe(printer, section):
    """Probes whose trigger comes from a sensor protocol klipsim does not
    model (eddy current over I2C, load cells): accepted with a warning;
    their probing moves run as for any probe, with no MCU commands."""
    for option in section.options():
        if option not in ("x_offset", "y_offset", "z_offset", "speed", "lift_speed",
                          "samples", "sample_retract_dist", "samples_result",
                          "samples_tolerance", "samples_tolerance_retries",
                          "activate_gcode", "deactivate_gcode"):
            section.get(option)
    printer.dispatcher.warn("%s: [%s] is accepted but its sensor is not modelled by klipsim"
                            " (probing moves only, no sensor commands)"
                            % (section.location(), section.name))
    z_offset = None if section.has_option("z_offset") else 0.
    return Probe(printer, section, NullEndstop(lambda: printer.reactor), z_offset)


BLTOUCH_SIGNAL_PERIOD = 0.020     # bltouch.py: servo signal period 20 ms


def load_bltouch(printer, section):
    """[bltouch]: the sensor_pin is the probe's endstop and control_pin a
    20 ms servo PWM output (configured as Klipper does); the deploy/stow
    pulses and their checks around each probe are not modelled (warned)."""
    from .output_pin import make_pwm_pin
    endstop = _pin_endstop(printer, section, "sensor_pin")
    make_pwm_pin(printer.hw, section, "control_pin", BLTOUCH_SIGNAL_PERIOD, False)
    for option in ("pin_move_time", "stow_on_each_sample", "probe_with_touch_mode",
                   "pin_up_reports_not_triggered", "pin_up_touch_mode_reports_triggered",
                   "set_output_mode"):
        section.get(option, None)
    printer.dispatcher.warn("%s: [%s]: deploy/stow signals are not modelled by klipsim"
                            " (probing moves and endstop only)"
                            % (section.location(), section.name))
    return Probe(printer, section, endstop)
