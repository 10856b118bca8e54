"""Klipper's G-code commands and the config section that makes each one
exist (docs/G-Codes.md, organised by module; "automatically loaded"
modules' commands always exist).

Contract: `provider(name)` -> "" for a command that always exists, the
section type(s) (a tuple) that provide it, or None for a name Klipper
does not define; `exists(name, section_types)` says whether Klipper would
have the command with those config sections present;
`register_stand_ins(dispatcher, section_types)` registers, for every such
command nobody registered, a stand-in that warns "not modelled" when run
(under its own name, or under the name a gcode_macro's rename_existing
gave it): so a macro may rename any command Klipper has for the config,
and running an unmodelled command says so instead of "Unknown command".
Call it after every object registered its commands, before the macros.
"""
from .dispatch import SILENT_UNKNOWN   # accepted silently by the dispatcher: no stand-in


# Standard and extended commands of the modules Klipper always loads
# (gcode, gcode_move, toolhead, heaters with any heater, extruder,
# force_move, idle_timeout, manual_probe, pid_calibrate, print_stats,
# query_adc, query_endstops, stepper_enable, tuning_tower, configfile).
# FORCE_MOVE and SET_KINEMATIC_POSITION exist only with [force_move]
# enable_force_move: True (and then klipsim registers them): not listed.
ALWAYS = (
    "G0", "G1", "G4", "G28", "G90", "G91", "G92", "M18", "M84", "M82", "M83",
    "M104", "M105", "M109", "M112", "M114", "M115", "M140",
    "M190", "M204", "M220", "M221", "M400", "M119",
    "RESTART", "FIRMWARE_RESTART", "STATUS", "HELP", "ECHO", "SAVE_CONFIG",
    "GET_POSITION", "SET_GCODE_OFFSET", "SAVE_GCODE_STATE", "RESTORE_GCODE_STATE",
    "SET_VELOCITY_LIMIT", "TURN_OFF_HEATERS", "TEMPERATURE_WAIT",
    "SET_HEATER_TEMPERATURE", "ACTIVATE_EXTRUDER", "SET_PRESSURE_ADVANCE",
    "SET_EXTRUDER_ROTATION_DISTANCE", "SYNC_EXTRUDER_MOTION", "STEPPER_BUZZ",
    "SET_IDLE_TIMEOUT", "MANUAL_PROBE",
    "Z_ENDSTOP_CALIBRATE", "Z_OFFSET_APPLY_ENDSTOP", "PID_CALIBRATE",
    "SET_PRINT_STATS_INFO", "QUERY_ADC", "QUERY_ENDSTOPS", "SET_STEPPER_ENABLE",
    "TUNING_TOWER", "SET_GCODE_VARIABLE",
)

_PROBES = ("probe", "bltouch", "smart_effector", "probe_eddy_current")
_LEDS = ("led", "neopixel", "dotstar", "pca9533", "pca9632")
_TMC = ("tmc2130", "tmc2208", "tmc2209", "tmc2240", "tmc2660", "tmc5160")
_WIDTH = ("hall_filament_width_sensor", "tsl1401cl_filament_width_sensor")

# section type(s) -> the commands they add
BY_SECTION = {
    ("adxl345", "lis2dw", "lis3dh", "mpu9250", "icm20948", "adxl355"): (
        "ACCELEROMETER_MEASURE", "ACCELEROMETER_QUERY", "ACCELEROMETER_DEBUG_READ",
        "ACCELEROMETER_DEBUG_WRITE"),
    ("angle",): ("ANGLE_CALIBRATE", "ANGLE_DEBUG_READ", "ANGLE_DEBUG_WRITE"),
    ("bed_mesh",): ("BED_MESH_CALIBRATE", "BED_MESH_OUTPUT", "BED_MESH_MAP",
                    "BED_MESH_CLEAR", "BED_MESH_PROFILE", "BED_MESH_OFFSET"),
    ("bed_screws",): ("BED_SCREWS_ADJUST",),
    ("bed_tilt",): ("BED_TILT_CALIBRATE",),
    ("bltouch",): ("BLTOUCH_DEBUG", "BLTOUCH_STORE"),
    ("delayed_gcode",): ("UPDATE_DELAYED_GCODE",),
    ("delta_calibrate",): ("DELTA_CALIBRATE", "DELTA_ANALYZE"),
    ("display",): ("SET_DISPLAY_GROUP",),
    ("display", "display_status"): ("M117", "M73", "SET_DISPLAY_TEXT"),
    ("dual_carriage",): ("SET_DUAL_CARRIAGE", "SAVE_DUAL_CARRIAGE_STATE",
                         "RESTORE_DUAL_CARRIAGE_STATE"),
    ("endstop_phase",): ("ENDSTOP_PHASE_CALIBRATE",),
    ("exclude_object",): ("EXCLUDE_OBJECT", "EXCLUDE_OBJECT_DEFINE",
                          "EXCLUDE_OBJECT_START", "EXCLUDE_OBJECT_END"),
    ("fan",): ("M106", "M107"),
    ("fan_generic",): ("SET_FAN_SPEED",),
    ("filament_switch_sensor", "filament_motion_sensor"): (
        "QUERY_FILAMENT_SENSOR", "SET_FILAMENT_SENSOR"),
    ("firmware_retraction",): ("G10", "G11", "SET_RETRACTION", "GET_RETRACTION"),
    ("gcode_arcs",): ("G2", "G3", "G17", "G18", "G19"),
    ("gcode_button",): ("QUERY_BUTTON",),
    _WIDTH: ("QUERY_FILAMENT_WIDTH", "RESET_FILAMENT_WIDTH_SENSOR",
             "DISABLE_FILAMENT_WIDTH_SENSOR", "ENABLE_FILAMENT_WIDTH_SENSOR",
             "QUERY_RAW_FILAMENT_WIDTH", "ENABLE_FILAMENT_WIDTH_LOG",
             "DISABLE_FILAMENT_WIDTH_LOG"),
    ("input_shaper",): ("SET_INPUT_SHAPER",),
    ("manual_stepper",): ("MANUAL_STEPPER",),
    ("mcp4018",): ("SET_DIGIPOT",),
    _LEDS: ("SET_LED", "SET_LED_TEMPLATE"),
    ("output_pin", "pwm_cycle_time"): ("SET_PIN",),
    ("palette2",): ("PALETTE_CONNECT", "PALETTE_DISCONNECT", "PALETTE_CLEAR",
                    "PALETTE_CUT", "PALETTE_SMART_LOAD"),
    ("pause_resume",): ("PAUSE", "RESUME", "CLEAR_PAUSE", "CANCEL_PRINT"),
    _PROBES: ("PROBE", "QUERY_PROBE", "PROBE_ACCURACY", "PROBE_CALIBRATE",
              "Z_OFFSET_APPLY_PROBE"),
    ("quad_gantry_level",): ("QUAD_GANTRY_LEVEL",),
    ("resonance_tester",): ("MEASURE_AXES_NOISE", "TEST_RESONANCES", "SHAPER_CALIBRATE"),
    ("respond",): ("M118", "RESPOND"),
    ("save_variables",): ("SAVE_VARIABLE",),
    ("screws_tilt_adjust",): ("SCREWS_TILT_CALCULATE",),
    ("sdcard_loop",): ("SDCARD_LOOP_BEGIN", "SDCARD_LOOP_END", "SDCARD_LOOP_DESIST"),
    ("servo",): ("SET_SERVO",),
    ("skew_correction",): ("SET_SKEW", "GET_CURRENT_SKEW", "CALC_MEASURED_SKEW",
                           "SKEW_PROFILE"),
    ("smart_effector",): ("SET_SMART_EFFECTOR", "RESET_SMART_EFFECTOR"),
    ("temperature_fan",): ("SET_TEMPERATURE_FAN_TARGET",),
    _TMC: ("DUMP_TMC", "INIT_TMC", "SET_TMC_CURRENT", "SET_TMC_FIELD"),
    ("virtual_sdcard",): ("M20", "M21", "M23", "M24", "M25", "M26", "M27",
                          "SDCARD_PRINT_FILE", "SDCARD_RESET_FILE"),
    ("axis_twist_compensation",): ("AXIS_TWIST_COMPENSATION_CALIBRATE",),
    ("z_thermal_adjust",): ("SET_Z_THERMAL_ADJUST",),
    ("z_tilt", "z_tilt_ng"): ("Z_TILT_ADJUST",),
}


def _index():
    providers = {name: "" for name in ALWAYS}
    for sections, names in BY_SECTION.items():
        for name in names:
            if providers.get(name) != "":
                providers[name] = providers.get(name, ()) + sections
    return providers


_PROVIDERS = _index()


def provider(name):
    return _PROVIDERS.get(name.upper())


def exists(name, section_types):
    """Whether Klipper has command `name` with these section types."""
    sections = provider(name)
    if sections is None:
        return False
    return sections == "" or any(s in section_types for s in sections)




def _stand_in(dispatcher, name):
    def run(cmd):
        renamed = "" if cmd.name == name else " (Klipper's %s, renamed)" % (name,)
        dispatcher.warn("%s: %s%s is not modelled by klipsim; ignored"
                        % (cmd.location, cmd.name, renamed))
    return run


def register_stand_ins(dispatcher, section_types):
    for name in sorted(_PROVIDERS):
        if name in SILENT_UNKNOWN or dispatcher.has(name) or not exists(name, section_types):
            continue
        dispatcher.register(name, _stand_in(dispatcher, name))
