"""Builds a printer from a printer.cfg: MCUs, optional objects (heaters,
fans, ...) in config-file order, then the toolhead with its kinematics and
extruders -- the order Klipper's host creates them in, which decides oids
and the order of configuration commands.

The printer is handed a `link` (where MCU messages go), a clock source
(the estimated print time of the main MCU) and a reactor (time and
timers); it does not know whether it runs in compile or simulate mode.
"""
from ..gcode.arcs import ArcCommands
from ..gcode.command import make_command
from .configfile import ConfigError
from .extruder import Extruder
from .fan import Fan
from .gcode_move import GCodeMove
from .hardware import Hardware
from .heaters import Heater, Heaters
from .kinematics import load_kinematics
from .mcu import MCU
from .motion_queuing import MotionQueuing
from .toolhead import ToolHead, ToolheadLimits

# Sections that carry nothing for the MCU stream in an offline run; their
# options are read so the unused-option check stays meaningful.
PASSIVE_SECTIONS = (
    "virtual_sdcard", "display_status", "pause_resume", "respond",
    "idle_timeout", "force_move", "exclude_object",
    "board_pins", "save_variables", "verify_heater", "heater_bed_verify",
    "gcode_macro", "delayed_gcode", "homing_override", "safe_z_home",
    "firmware_retraction", "input_shaper", "bed_mesh", "endstop_phase",
    "static_digital_output", "temperature_sensor", "led", "neopixel",
)


def _section_type(name):
    return name.split()[0]


class Printer:
    def __init__(self, config, dictionaries, link, clock_source, reactor,
                 dispatcher):
        self.config = config
        self.dispatcher = dispatcher
        self.reactor = reactor
        self.motion = MotionQueuing(reactor, clock_source, link.can_pause)
        mcus = self._make_mcus(config, dictionaries, link, clock_source)
        self.hw = Hardware(mcus, self.motion)
        self.heaters = Heaters()
        self.fans = []
        self._load_optional_sections()
        self.toolhead = self._make_toolhead(reactor)
        self.extruders = self._make_extruders()
        self.toolhead.set_extruder(self.extruders[0], 0.)
        self.motion.update_kin_flush_delay()
        self.gcode_move = GCodeMove(self.toolhead, dispatcher,
                                    self.hw.stepper_enable,
                                    lambda: list(self.motion.steppers))
        self._register_commands(dispatcher)
        self._load_arcs(dispatcher)

    # ---- construction -------------------------------------------------------
    @staticmethod
    def _make_mcus(config, dictionaries, link, clock_source):
        mcus = {}
        for section in config.sections("mcu"):
            parts = section.name.split()
            if parts[0] != "mcu":
                continue
            name = parts[-1] if len(parts) > 1 else "mcu"
            for option in section.options():
                section.get(option)   # serial, baud, restart_method, ...
            if name not in dictionaries:
                raise ConfigError("no data dictionary for MCU '%s'" % name,
                                  section.location())
            mcus[name] = MCU(name, dictionaries[name], link, clock_source)
        if "mcu" not in mcus:
            raise ConfigError("Section 'mcu' must be specified", config.path)
        return mcus

    def _load_optional_sections(self):
        for section in self.config.sections():
            kind = _section_type(section.name)
            if kind in ("heater_bed", "heater_generic"):
                self.heaters.add(Heater(section, self.hw))
            elif kind == "fan":
                self.fans.append(Fan(section, self.hw))
            elif kind in PASSIVE_SECTIONS:
                for option in section.options():
                    section.get(option)

    def _make_toolhead(self, reactor):
        section = self.config.section("printer")
        limits = ToolheadLimits(
            section.getfloat("max_velocity", above=0.),
            section.getfloat("max_accel", above=0.),
            section.getfloat("square_corner_velocity", 5., minval=0.),
            section.getfloat("minimum_cruise_ratio", 0.5, minval=0., below=1.))
        kin_name = section.get("kinematics")
        kinematics = load_kinematics(kin_name, section, self.config, self.hw,
                                     self.motion.toolhead_trapq)
        return ToolHead(limits, kinematics, self.motion, self.hw.main_mcu, reactor)

    def _make_extruders(self):
        names = sorted((s.name for s in self.config.sections("extruder")
                        if s.name == "extruder" or s.name[8:].isdigit()),
                       key=lambda n: (len(n), n))
        if not names:
            raise ConfigError("Section 'extruder' must be specified", self.config.path)
        extruders = []
        for name in names:
            extruder = Extruder(self.config.section(name), self.hw,
                                self.toolhead.limits, self.motion)
            self.heaters.add(extruder.heater)
            extruders.append(extruder)
        return extruders

    def _load_arcs(self, dispatcher):
        """[gcode_arcs]: G2/G3 become G1 segments of `resolution` mm."""
        if not self.config.has_section("gcode_arcs"):
            return
        section = self.config.section("gcode_arcs")
        resolution = section.getfloat("resolution", 1., above=0.)
        move = self.gcode_move

        def gcode_state():
            position = [move.last_position[i] - move.base_position[i] for i in range(4)]
            return position, move.absolute_coord, move.absolute_extrude

        def segment(params, cmd):
            move.cmd_G1(make_command("G1", params, cmd.text, cmd.source, cmd.lineno))
        ArcCommands(dispatcher, resolution, gcode_state, segment)

    # ---- commands -------------------------------------------------------------
    def _register_commands(self, d):
        for name in ("M104", "M109"):
            d.register(name, self._cmd_set_extruder_temp)
        for name in ("M140", "M190"):
            d.register(name, self._cmd_set_bed_temp)
        d.register("M106", self._cmd_M106)
        d.register("M107", self._cmd_M107)

    def _cmd_set_extruder_temp(self, cmd):
        # No wait in offline runs: no ADC readings (Klipper's batch mode).
        index = cmd.get_int("T", 0, minval=0)
        if index >= len(self.extruders):
            raise cmd.error("Extruder not configured")
        self._set_target(cmd, self.extruders[index].heater)

    def _cmd_set_bed_temp(self, cmd):
        heater = self.heaters.lookup("heater_bed")
        if heater is None:
            return
        self._set_target(cmd, heater)

    @staticmethod
    def _set_target(cmd, heater):
        try:
            heater.set_target(cmd.get_float("S", 0.))
        except ValueError as e:
            raise cmd.error(str(e))

    def _cmd_M106(self, cmd):
        if not self.fans:
            return
        value = cmd.get_float("S", 255., minval=0.) / 255.
        self._set_fan(value)

    def _cmd_M107(self, cmd):
        if self.fans:
            self._set_fan(0.)

    def _set_fan(self, value):
        fan = self.fans[0]
        self.toolhead.register_lookahead_callback(
            lambda print_time: fan.set_speed(print_time, value))

    # ---- run ------------------------------------------------------------------
    def connect(self):
        for mcu in self.hw.mcus.values():
            mcu.connect()

    def finish(self):
        """End of input, as Klipper's batch mode ends: note the print time,
        turn the motors off (0.1 s stalls around it), dwell 0.5 s, wait
        for the moves, generate every remaining step."""
        toolhead = self.toolhead
        end_time = toolhead.get_last_move_time()
        self.hw.stepper_enable.motors_off(toolhead, self.motion.steppers)
        toolhead.dwell(0.500)
        toolhead.wait_moves()
        self.motion.flush_all_steps()
        return end_time
