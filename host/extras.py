"""Optional printer objects, by config section type ("extras" in Klipper).

A loader `load(printer, section)` builds the object for one section; the
printer calls loaders in config-file order *before* it builds the toolhead
(that order decides oids and configuration commands, as in Klipper). An
object that needs the toolhead, the G-code move state or other objects
defines `connect(printer)`, called once the whole printer exists. An
object that macros can read defines `get_status()` returning a dict, and
appears in the macros' `printer` object under its section name.

Sections listed in PASSIVE have no effect on the MCU stream in an offline
run (their options are still read, so misspelt options are reported).
"""
import importlib

# section type -> "module:function" (imported on first use)
LOADERS = {
    "heater_bed": "klipsim.host.heaters:load_heater",
    "heater_generic": "klipsim.host.heaters:load_heater",
    "fan": "klipsim.host.fan:load_fan",
    "heater_fan": "klipsim.host.heater_fan:load_heater_fan",
    "controller_fan": "klipsim.host.heater_fan:load_controller_fan",
    "output_pin": "klipsim.host.output_pin:load_output_pin",
    "fan_generic": "klipsim.host.fan:load_fan_generic",
    "led": "klipsim.host.led:load_led",
    "neopixel": "klipsim.host.neopixel:load_neopixel",
    "static_digital_output": "klipsim.host.static_digital_output:load_static_digital_output",
    "display_status": "klipsim.host.display_status:load_display_status",
    "respond": "klipsim.host.display_status:load_respond",
    "pause_resume": "klipsim.host.pause_resume:load_pause_resume",
    "firmware_retraction": "klipsim.host.firmware_retraction:load_firmware_retraction",
    "exclude_object": "klipsim.host.exclude_object:load_exclude_object",
    "homing_override": "klipsim.host.homing_override:load",
    "extruder_stepper": "klipsim.host.extruder:load_extruder_stepper",
    "input_shaper": "klipsim.host.input_shaper:load",
    "safe_z_home": "klipsim.host.safe_z_home:load",
    "thermistor": "klipsim.host.temperature_sensors:load_thermistor",
    "adc_temperature": "klipsim.host.temperature_sensors:load_adc_temperature",
    "temperature_sensor": "klipsim.host.temperature_sensors:load_temperature_sensor",
    "adc_scaled": "klipsim.host.adc_scaled:load_adc_scaled",
    "temperature_fan": "klipsim.host.temperature_fan:load_temperature_fan",
    "multi_pin": "klipsim.host.pin_chips:load_multi_pin",
    "sx1509": "klipsim.host.pin_chips:load_sx1509",
    "pwm_cycle_time": "klipsim.host.pwm_cycle_time:load_pwm_cycle_time",
    "ad5206": "klipsim.host.digipots:load_ad5206",
    "dac084S085": "klipsim.host.digipots:load_dac084s085",
    "probe": "klipsim.host.probe:load_probe",
    "bltouch": "klipsim.host.probe:load_bltouch",
    "smart_effector": "klipsim.host.probe:load_smart_effector",
    "probe_eddy_current": "klipsim.host.probe:load_unmodelled_probe",
    "load_cell_probe": "klipsim.host.probe:load_unmodelled_probe",
    "z_tilt": "klipsim.host.z_tilt:load_z_tilt",
    "tmc2130": "klipsim.host.tmc:load_tmc",
    "tmc2208": "klipsim.host.tmc:load_tmc",
    "tmc2209": "klipsim.host.tmc:load_tmc",
    "tmc2240": "klipsim.host.tmc:load_tmc",
    "tmc2660": "klipsim.host.tmc:load_tmc",
    "tmc5160": "klipsim.host.tmc:load_tmc",
    "quad_gantry_level": "klipsim.host.z_tilt:load_quad_gantry_level",
    "delta_calibrate": "klipsim.host.z_tilt:load_delta_calibrate",
    "virtual_sdcard": "klipsim.host.print_stats:load_virtual_sdcard",
    "manual_stepper": "klipsim.host.manual_stepper:load",
    "bed_mesh": "klipsim.host.bed_mesh:load",
    "bed_tilt": "klipsim.host.bed_tilt:load",
    "skew_correction": "klipsim.host.skew_correction:load",
}

# Klipper section types klipsim accepts without modelling them yet: their
# options are read, and each section gets a one-line warning, because in
# Klipper they may send MCU commands (drivers, sensors, probes) or change
# motion (bed mesh, tilt adjustments). An unknown section type is still an
# error, as in Klipper (it catches misspelt section names).
UNMODELLED = (
    "bed_screws", "screws_tilt_adjust", "z_tilt_ng", "axis_twist_compensation",
    "adxl345", "lis2dw", "mpu9250",
    "resonance_tester", "filament_switch_sensor", "filament_motion_sensor",
    "display", "display_data", "display_template", "menu", "servo",
    "gcode_button", "mcu_temperature",
    "dotstar", "pca9533", "pca9632", "mcp4451",
    "mcp4728", "mcp4018", "replicape", "palette2", "angle", "load_cell",
    "sdcard_loop", "gcode_shell_command",
    # accepted for printers.test and Klipper's example configs (wt-sensors)
    "homing_heaters", "lis3dh",
    "samd_sercom", "static_pwm_clock", "temperature_probe", "pwm_tool",
    "z_thermal_adjust", "tuning_tower", "hall_filament_width_sensor",
    "tsl1401cl_filament_width_sensor", "ads1220", "icm20948", "adxl355",
)

PASSIVE = (
    "idle_timeout", "force_move", "board_pins",   # board_pins: read by the printer
    "save_variables", "verify_heater", "gcode_macro", "delayed_gcode",
    "endstop_phase",
    "gcode_arcs", "printer", "mcu",
    "display_glyph", "duplicate_pin_override", "query_adc", "query_endstops",
    "statistics", "motion_report",
)


def section_type(name):
    return name.split()[0]


def loader_for(kind):
    """The loader of a section type, or None."""
    target = LOADERS.get(kind)
    if target is None:
        return None
    module_name, function = target.split(":")
    return getattr(importlib.import_module(module_name), function)


def read_all_options(section):
    for option in section.options():
        section.get(option)
