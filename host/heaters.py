"""Heaters ([extruder] heater part, [heater_bed], [heater_generic]): an ADC
sensor plus a soft-PWM heater pin.

In offline (batch) runs there are no ADC readings, so heaters never switch
on and temperature commands (M104/M109/M140/M190) produce no MCU output,
as in Klipper's batch mode; what the stream does carry is the sensor's
periodic query and the heater pin's configuration with its 3 s
max_duration watchdog.
"""
from .mcu import AnalogIn, SoftPwm
from .pins import parse_pin
from .thermistor import DEFAULT_PULLUP, SENSORS, make_thermistor

SAMPLE_TIME = 0.001      # adc_temperature.py
SAMPLE_COUNT = 8
REPORT_TIME = 0.300
RANGE_CHECK_COUNT = 4
MAX_HEAT_TIME = 3.0      # heaters.py: heater pin max_duration
PWM_CYCLE_TIME = 0.100   # heaters.py default pwm_cycle_time


class Heater:
    def __init__(self, section, hw):
        self.name = section.name.split()[-1]
        self._read_sensor(section, hw)
        self._read_control(section)
        pin = parse_pin(section.get("heater_pin"), can_invert=True)
        mcu = hw.lookup(pin.chip, section, "heater_pin")
        mcu.check_pin(pin.pin, section.location("heater_pin"))
        cycle = section.getfloat("pwm_cycle_time", PWM_CYCLE_TIME, above=0., maxval=REPORT_TIME)
        self.pwm = SoftPwm(mcu, pin.pin, pin.invert, cycle, max_duration=MAX_HEAT_TIME)
        self.target = 0.
        self.min_extrude_temp = section.getfloat(
            "min_extrude_temp", 170., minval=self.min_temp, maxval=self.max_temp)

    def _read_sensor(self, section, hw):
        sensor_type = section.getchoice("sensor_type", sorted(SENSORS))
        pin = parse_pin(section.get("sensor_pin"))
        mcu = hw.lookup(pin.chip, section, "sensor_pin")
        mcu.check_pin(pin.pin, section.location("sensor_pin"))
        pullup = section.getfloat("pullup_resistor", DEFAULT_PULLUP, above=0.)
        inline = section.getfloat("inline_resistor", 0., minval=0.)
        self.min_temp = section.getfloat("min_temp", minval=-273.15)
        self.max_temp = section.getfloat("max_temp", above=self.min_temp)
        thermistor = make_thermistor(sensor_type, pullup, inline)
        fractions = [thermistor.calc_adc(t) for t in (self.min_temp, self.max_temp)]
        self.adc = AnalogIn(mcu, pin.pin, SAMPLE_TIME, SAMPLE_COUNT, REPORT_TIME,
                            min(fractions), max(fractions), RANGE_CHECK_COUNT)

    def _read_control(self, section):
        self.max_power = section.getfloat("max_power", 1., above=0., maxval=1.)
        section.getfloat("smooth_time", 1., above=0.)
        control = section.getchoice("control", ["watermark", "pid"])
        if control == "pid":
            for option in ("pid_Kp", "pid_Ki", "pid_Kd"):
                section.getfloat(option)
        else:
            section.getfloat("max_delta", 2.0, above=0.)
        self.control = control

    def set_target(self, temp):
        if temp and (temp < self.min_temp or temp > self.max_temp):
            raise ValueError("Requested temperature (%.1f) out of range (%.1f:%.1f)"
                             % (temp, self.min_temp, self.max_temp))
        self.target = temp


class Heaters:
    """The printer's heaters and the temperature G-codes."""

    def __init__(self):
        self.heaters = {}

    def add(self, heater):
        self.heaters[heater.name] = heater
        return heater

    def lookup(self, name):
        return self.heaters.get(name)


def load_heater(printer, section):
    """[heater_bed] / [heater_generic NAME]."""
    return printer.heaters.add(Heater(section, printer.hw))
