"""[temperature_fan NAME]: a fan that cools to a target temperature read
by its own sensor (docs/Config_Reference.md [temperature_fan],
docs/G-Codes.md SET_TEMPERATURE_FAN_TARGET: without TARGET the
configured target_temp is restored; speeds left out stay as they are).

Contract: `load_temperature_fan(printer, section)`; get_status() gives
temperature, target, speed; SET_TEMPERATURE_FAN_TARGET
TEMPERATURE_FAN=NAME [TARGET=] [MIN_SPEED=] [MAX_SPEED=].

Configuration order as Klipper's: the fan pin (shutdown_speed defaults
to 1: a fan that runs when the MCU shuts down), then the sensor. Every
sensor reading runs the control law (on the response thread):
- watermark: full max_speed once the temperature reaches target +
  max_delta (default 2), off once it falls to target - max_delta;
- pid: the heater PID law (host/heater_control.py) on the mirrored
  error (temperature above target asks for more air);
then the speed rules: a speed below min_speed (default 0.3) but above 0
is raised to min_speed, a target of 0 turns the fan off, a change under
0.05 is not sent until the refresh (0.75 x 5 s after the last update),
and an update acts one sensor period after its reading. In compile mode
no reading arrives, so the fan never leaves its start value.
"""
from .configfile import ConfigError
from .fan import Fan, FanUser
from .heater_control import ControlPID, ControlWatermark

KELVIN_TO_CELSIUS = -273.15
MAX_FAN_TIME = 5.0
SPEED_CHANGE_MIN = 0.05
DEFAULT_TARGET = 40.


class TemperatureFan(FanUser):
    def __init__(self, printer, section):
        self.name = section.name.split()[-1]
        self.fan = Fan(printer, section, default_shutdown_speed=1.)
        self.min_temp = section.getfloat("min_temp", minval=KELVIN_TO_CELSIUS)
        self.max_temp = section.getfloat("max_temp", above=self.min_temp)
        self.sensor = printer.hw.sensor_types.make(section)
        self.sensor.setup_minmax(self.min_temp, self.max_temp)
        self.sensor.setup_callback(self.temperature_callback)
        section.get("gcode_id", None)
        self.speed_delay = self.sensor.report_time
        self.max_speed = section.getfloat("max_speed", 1., above=0., maxval=1.)
        self.min_speed = section.getfloat("min_speed", 0.3, minval=0., maxval=1.)
        self.target_temp = self.target_temp_conf = section.getfloat(
            "target_temp", DEFAULT_TARGET if self.max_temp > DEFAULT_TARGET else self.max_temp,
            minval=self.min_temp, maxval=self.max_temp)
        self.control = self._make_control(section)
        self.last_temp = 0.
        self.next_speed_time = 0.
        self.last_speed_value = 0.
        printer.dispatcher.register_mux("SET_TEMPERATURE_FAN_TARGET", "TEMPERATURE_FAN",
                                        self.name, self.cmd_SET_TEMPERATURE_FAN_TARGET,
                                        "Sets a temperature fan target")

    def _make_control(self, section):
        control = section.getchoice("control", ["watermark", "pid"])
        if control == "pid":
            kp, ki, kd = (section.getfloat(o) for o in ("pid_Kp", "pid_Ki", "pid_Kd"))
            deriv_time = section.getfloat("pid_deriv_time", 2., above=0.)
            return ControlPID(kp, ki, kd, self.max_speed, deriv_time)
        return ControlWatermark(section.getfloat("max_delta", 2.0, above=0.), self.max_speed)

    # ---- the response thread ---------------------------------------------------
    def temperature_callback(self, read_time, temp):
        self.last_temp = temp
        # Both laws heat below target; a fan cools: mirror the temperatures.
        self.set_speed(read_time, self.control.update(read_time, -temp, -self.target_temp))

    def set_speed(self, read_time, value):
        if value <= 0.:
            value = 0.
        elif value < self.min_speed:
            value = self.min_speed
        value = min(value, self.max_speed)
        if self.target_temp <= 0.:
            value = 0.
        small = abs(value - self.last_speed_value) < SPEED_CHANGE_MIN
        if small and (read_time < self.next_speed_time or not self.last_speed_value):
            return
        speed_time = read_time + self.speed_delay
        self.next_speed_time = speed_time + 0.75 * MAX_FAN_TIME
        self.last_speed_value = value
        self.fan.set_speed(value, speed_time)

    # ---- commands ------------------------------------------------------------------
    def cmd_SET_TEMPERATURE_FAN_TARGET(self, cmd):
        # Without TARGET the configured target_temp comes back (docs/G-Codes.md).
        target = cmd.get_float("TARGET", self.target_temp_conf)
        if target and (target < self.min_temp or target > self.max_temp):
            raise cmd.error("Requested temperature (%.1f) out of range (%.1f:%.1f)"
                            % (target, self.min_temp, self.max_temp))
        min_speed = cmd.get_float("MIN_SPEED", self.min_speed)
        max_speed = cmd.get_float("MAX_SPEED", self.max_speed)
        if min_speed > max_speed:
            raise cmd.error("Requested min speed (%.1f) cannot be greater than max speed (%.1f)"
                            % (min_speed, max_speed))
        if not 0. <= min_speed <= 1. or not 0. <= max_speed <= 1.:
            raise cmd.error("Requested speed out of range (0.0:1.0)")
        self.target_temp, self.min_speed, self.max_speed = target, min_speed, max_speed

    def get_status(self):
        status = dict(self.fan.get_status())
        status.update({"temperature": round(self.last_temp, 2), "target": self.target_temp})
        return status


def load_temperature_fan(printer, section):
    if " " not in section.name.strip():
        raise ConfigError("Section '%s' needs a name ([temperature_fan NAME])"
                          % (section.name,), section.location())
    return TemperatureFan(printer, section)
