"""A hardware-PWM output pin (`hardware_pwm: True`): the MCU's PWM
peripheral, driven by config_pwm_out / queue_pwm_out, whose values are
fractions of the dictionary constant PWM_MAX (Klipper's mcu.py MCU_pwm,
hardware branch; docs/MCU_Commands.md).

Contract: `HardwarePwm(mcu, pin, invert, cycle_time, start_value=0.,
shutdown_value=0., max_duration=0., where=...)` registers its config
callback like the pins of host/mcu.py (oid taken lazily, first value
queued at est + 0.2 s as an init command); `set_pwm(print_time, value)`.
An MCU whose dictionary has no config_pwm_out raises MCUError naming
`where`.
"""
from .mcu import MCUError, PWM_INIT_TIME


class HardwarePwm:
    def __init__(self, mcu, pin, invert, cycle_time, start_value=0.,
                 shutdown_value=0., max_duration=0., where="hardware_pwm"):
        if "config_pwm_out" not in mcu.dictionary.commands:
            raise MCUError("%s: MCU '%s' has no hardware PWM (config_pwm_out)"
                           % (where, mcu.name))
        self.mcu = mcu
        self.pin = pin
        self.invert = bool(invert)
        self.cycle_time = cycle_time
        self.start_value = self._pin_level(start_value)
        self.shutdown_value = self._pin_level(shutdown_value)
        self.max_duration = max_duration
        self.pwm_max = float(mcu.get_constant("PWM_MAX"))
        self.oid = None
        self.last_clock = 0
        mcu.register_config_callback(self._build_config)

    def _pin_level(self, value):
        """Requested fraction -> fraction of the time the pin is high."""
        value = 1. - value if self.invert else value
        return max(0., min(1., value))

    def _build_config(self):
        self.oid = self.mcu.create_oid()
        self.mcu.add_config_cmd("config_pwm_out", {
            "oid": self.oid, "pin": self.pin,
            "cycle_ticks": self.mcu.seconds_to_clock(self.cycle_time),
            # Klipper formats these two with %d: truncated, not rounded.
            "value": int(self.start_value * self.pwm_max),
            "default_value": int(self.shutdown_value * self.pwm_max),
            "max_duration": self.mcu.seconds_to_clock(self.max_duration)})
        est = self.mcu.estimated_print_time(0.)
        clock = self.mcu.print_time_to_clock(est + PWM_INIT_TIME)
        self.last_clock = clock
        self.mcu.add_config_cmd("queue_pwm_out", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "value": int(self.start_value * self.pwm_max + 0.5)}, is_init=True)

    def set_pwm(self, print_time, value):
        clock = self.mcu.print_time_to_clock(print_time)
        self.mcu.send("queue_pwm_out", {
            "oid": self.oid, "clock": clock & 0xffffffff,
            "value": int(self._pin_level(value) * self.pwm_max + 0.5)},
            req_clock=clock, min_clock=self.last_clock)
        self.last_clock = clock
