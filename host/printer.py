"""Builds a printer from a printer.cfg: MCUs, optional objects (heaters,
fans, ...) in config-file order, then the toolhead with its kinematics and
extruders -- the order Klipper's host creates them in, which decides oids
and the order of configuration commands.

The printer is handed a `link` (where MCU messages go), a clock source
(the estimated print time of the main MCU; optionally one per other MCU
by name, see MCU.calibrate_clock) and a reactor (time and timers); it
does not know whether it runs in compile or simulate mode.
"""
from ..gcode.arcs import ArcCommands
from ..gcode.command import make_command
from ..gcode.klipper_commands import register_stand_ins
from ..gcode.macros import MacroSet
from . import extras, idle_timeout, stepper_commands
from .configfile import ConfigError
from .extruder import Extruder, ExtruderCommands, ExtruderStepper
from .gcode_move import GCodeMove
from .hardware import Hardware
from .heaters import Heaters, TemperatureCommands
from .homing import Homing
from .kinematics import load_kinematics
from .mcu import MCU, mcu_sections
from .temperature_sensors import SensorTypes
from .motion_queuing import MotionQueuing
from .toolhead import Coord, ToolHead, ToolheadLimits


class Printer:
    def __init__(self, config, dictionaries, link, clock_source, reactor,
                 dispatcher, mcu_clock_sources=None):
        self.config = config
        self.dispatcher = dispatcher
        self.reactor = reactor
        self.motion = MotionQueuing(reactor, clock_source, link.can_pause)
        sources = dict(mcu_clock_sources or {})
        mcus = self._make_mcus(config, dictionaries, link,
                               lambda name: sources.get(name, clock_source))
        for mcu in mcus.values():
            mcu.reactor = reactor        # queries wait on it
        self.hw = Hardware(mcus, self.motion)
        self.hw.sensor_types = SensorTypes(self.hw, dispatcher.warn)
        self.heaters = Heaters(reactor, link.can_pause)
        self.objects = {}            # section name -> extras object
        self._load_optional_sections()
        self.toolhead = self._make_toolhead(reactor)
        self.extruders = self._make_extruders()
        self.toolhead.set_extruder(self.extruders[0], 0.)
        self.heaters.toolhead = self.toolhead
        self.motion.update_kin_flush_delay()
        self.gcode_move = GCodeMove(self.toolhead, dispatcher,
                                    self.hw.stepper_enable,
                                    lambda: list(self.motion.steppers))
        self._register_commands(dispatcher)
        self._load_arcs(dispatcher)
        self.homing = Homing(self.toolhead, dispatcher)
        self.homing.end_listeners.append(self.gcode_move.on_home_rails_end)
        self.extruder_commands = ExtruderCommands(self)
        self.stepper_commands = stepper_commands.load(self)   # FORCE_MOVE, M119, ...
        self.objects.setdefault("idle_timeout", idle_timeout.load(self))
        if hasattr(self.toolhead.kin, "connect"):
            self.toolhead.kin.connect(self)      # e.g. [dual_carriage] commands
        # Klipper's [bed_mesh]/[bed_tilt] take their move-transform place
        # while the config loads, before any connect handler forces one in.
        for obj in list(self.objects.values()):
            if hasattr(obj, "install_transform"):
                obj.install_transform(self)
        for obj in list(self.objects.values()):
            if hasattr(obj, "connect"):
                obj.connect(self)
        self.motion.update_kin_flush_delay()   # objects may add scan windows
        # Macros last: rename_existing needs the commands they wrap.
        self.macros = MacroSet(dispatcher, printer_status=self.status)
        register_stand_ins(dispatcher, {n.split()[0] for n in config.section_names()})
        self.macros.add_from_config(config)

    # ---- construction -------------------------------------------------------
    @staticmethod
    def _make_mcus(config, dictionaries, link, clock_source_of):
        mcus = {}
        for name, section in mcu_sections(config):
            for option in section.options():
                section.get(option)   # serial, baud, restart_method, ...
            if name not in dictionaries:
                raise ConfigError("no data dictionary for MCU '%s'" % name,
                                  section.location())
            mcus[name] = MCU(name, dictionaries[name], link, clock_source_of(name))
        if "mcu" not in mcus:
            raise ConfigError("Section 'mcu' must be specified", config.path)
        Printer._read_board_pins(config, mcus)
        return mcus

    @staticmethod
    def _read_board_pins(config, mcus):
        """[board_pins NAME]: `aliases` (and aliases_*) as name=pin lists
        for the MCUs named in `mcu` (docs/Config_Reference.md)."""
        for section in config.sections("board_pins"):
            targets = section.getlist("mcu", ["mcu"])
            for option in section.options():
                if option != "aliases" and not option.startswith("aliases_"):
                    continue
                for pair in section.getlist(option, sep=","):
                    if not pair.strip():
                        continue
                    name, equals, pin = (p.strip() for p in pair.partition("="))
                    if not equals:    # an empty value is an alias nothing can use
                        raise section.error("Unable to parse alias '%s'" % pair.strip(), option)
                    for target in targets:
                        if target not in mcus:
                            raise section.error("unknown MCU '%s'" % target, "mcu")
                        mcus[target].aliases[name] = pin

    def _load_optional_sections(self):
        for section in self.config.sections():
            kind = extras.section_type(section.name)
            loader = extras.loader_for(kind)
            if loader is not None:
                self.objects[section.name] = loader(self, section)
            elif kind in extras.PASSIVE:
                if kind not in ("printer", "mcu"):
                    extras.read_all_options(section)
            elif kind in extras.UNMODELLED:
                extras.read_all_options(section)
                self.dispatcher.warn("%s: [%s] is accepted but not modelled by klipsim"
                                     " (Klipper may send MCU commands for it)"
                                     % (section.location(), section.name))

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
            # Klipper's arcs start from gcode_move's gcode_position (E unscaled by M221)
            return move.gcode_position(), move.absolute_coord, move.absolute_extrude

        def segment(params, cmd):
            move.cmd_G1(make_command("G1", params, cmd.text, cmd.source, cmd.lineno))
        ArcCommands(dispatcher, resolution, gcode_state, segment)

    def extruder_steppers(self):
        """Every stepper an extruder queue can drive, [extruder]s' first."""
        own = [e.extruder_stepper for e in self.extruders]
        extra = [o for o in self.objects.values() if isinstance(o, ExtruderStepper)]
        return own + extra

    # ---- commands -------------------------------------------------------------
    def _register_commands(self, d):
        self.temperature_commands = TemperatureCommands(self, d)

    def status(self):
        """The `printer` object seen by macros (a subset of Klipper's)."""
        toolhead = self.toolhead
        kin = toolhead.kin
        gm = self.gcode_move
        minimum, maximum = kin.axis_bounds()
        status = {
            "toolhead": {
                "position": Coord(*toolhead.commanded_pos[:4]),
                "axis_minimum": Coord(*minimum, 0.),
                "axis_maximum": Coord(*maximum, 0.),
                "homed_axes": kin.homed_axes(),
                "max_velocity": toolhead.limits.max_velocity,
                "max_accel": toolhead.limits.max_accel,
                "print_time": toolhead.print_time,
                "stalls": toolhead.print_stall,
                "extruder": toolhead.extruder.name,
            },
            "gcode_move": {
                "gcode_position": Coord(*gm.gcode_position()),
                "position": Coord(*gm.last_position[:4]),
                "homing_origin": Coord(*gm.homing_position[:3], 0.),   # SET_GCODE_OFFSET
                "absolute_coordinates": gm.absolute_coord,
                "absolute_extrude": gm.absolute_extrude,
                "speed_factor": gm.speed_factor * 60.,
                "extrude_factor": gm.extrude_factor,
                "speed": gm.speed,
            },
            "configfile": {"settings": self.config.settings()
                           if hasattr(self.config, "settings") else {}},
        }
        for name, obj in self.objects.items():
            if hasattr(obj, "get_status"):
                status[name] = obj.get_status()
        for extruder in self.extruders:
            status[extruder.name] = extruder.get_status()
        for heater in self.heaters.heaters.values():
            status.setdefault(heater.name, {"target": heater.target,
                                            "temperature": heater.smoothed_temp})
        return status

    def stats(self, eventtime):
        """Klipper's 1 s stats timer (main thread): what objects do there."""
        self.heaters.stats(eventtime)

    # ---- run ------------------------------------------------------------------
    def calibrate_clocks(self, eventtime):
        """Klipper's once-a-second clock calibration (FACTS 2.2/2.4): every
        MCU re-fits its print time mapping from the latest queued time on
        (only secondary MCUs change) and its steppers' compressors follow."""
        print_time = max(self.toolhead.print_time, self.motion.last_step_gen_time)
        for mcu in self.hw.mcus.values():
            adj = mcu.calibrate_clock(print_time, eventtime)
            self.motion.set_mcu_time(mcu, adj)

    def connect(self):
        for mcu in self.hw.mcus.values():
            mcu.connect()

    def finish(self):
        """End of input, as Klipper's batch mode ends: note the print time,
        turn the motors off (0.1 s stalls around it), dwell 0.5 s, wait
        for the moves, generate every remaining step."""
        toolhead = self.toolhead
        end_time = toolhead.get_last_move_time()
        # Klipper's gcode:request_restart event (fans off, pending pins).
        for obj in list(self.objects.values()):
            if hasattr(obj, "request_restart"):
                obj.request_restart(end_time)
        self.hw.stepper_enable.motors_off(toolhead, self.motion.steppers)
        toolhead.dwell(0.500)
        toolhead.wait_moves()
        self.motion.flush_all_steps()
        return end_time
