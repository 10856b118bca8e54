"""Heater control laws: what duty a heater gets for a temperature reading,
and whether a temperature wait (M109, M190) is still busy.

Contract: `make_control(section, max_power, smooth_time)` reads
`control` (pid / watermark) and its options from the config section and
returns a control object with
- `update(read_time, temp, target) -> duty` in [0, max_power], called
  for every reading (its caller decides whether the duty is sent);
- `check_busy(smoothed_temp, target) -> bool`: the wait rule.
The objects hold only floats and are deterministic.

Behaviour as Klipper documents it (docs/Config_Reference.md [extruder]
control, pid_Kp/Ki/Kd, max_delta; KLIPPER-FACTS 2.7), written here from
those facts:
- watermark: full max_power while at or below target - max_delta, off
  once at or above target + max_delta, unchanged in between; busy while
  the smoothed temperature is below target - max_delta;
- pid: the configured gains are in Klipper's historical units, divided by
  PID_PARAM_BASE (255, the PWM range of the firmware they came from); the
  derivative is smoothed over smooth_time (a reading closer than that to
  the previous one only moves it proportionally); the integral is kept in
  [0, max_power / Ki] and is not updated while the output saturates
  (anti-windup); busy until within PID_SETTLE_DELTA (1 C) of the target
  and changing slower than PID_SETTLE_SLOPE (0.1 C/s).
"""

PID_PARAM_BASE = 255.
PID_SETTLE_DELTA = 1.
PID_SETTLE_SLOPE = .1
AMBIENT_TEMP = 25.       # the PID's idea of the temperature before any reading


class ControlWatermark:
    def __init__(self, max_delta, max_power):
        self.max_delta = max_delta
        self.max_power = max_power
        self.heating = False

    def update(self, read_time, temp, target):
        if self.heating and temp >= target + self.max_delta:
            self.heating = False
        elif not self.heating and temp <= target - self.max_delta:
            self.heating = True
        return self.max_power if self.heating else 0.

    def check_busy(self, smoothed_temp, target):
        return smoothed_temp < target - self.max_delta


class ControlPID:
    def __init__(self, kp, ki, kd, max_power, smooth_time):
        self.kp = kp / PID_PARAM_BASE
        self.ki = ki / PID_PARAM_BASE
        self.kd = kd / PID_PARAM_BASE
        self.max_power = max_power
        self.min_deriv_time = smooth_time
        self.integ_max = max_power / self.ki if self.ki else 0.
        self.prev_temp = AMBIENT_TEMP
        self.prev_time = 0.
        self.prev_deriv = 0.
        self.prev_integ = 0.

    def _derivative(self, time_diff, temp_diff):
        """Slope of the temperature, averaged over at least min_deriv_time."""
        if time_diff >= self.min_deriv_time:
            return temp_diff / time_diff
        return ((self.prev_deriv * (self.min_deriv_time - time_diff) + temp_diff)
                / self.min_deriv_time)

    def update(self, read_time, temp, target):
        time_diff = read_time - self.prev_time
        deriv = self._derivative(time_diff, temp - self.prev_temp)
        error = target - temp
        integ = max(0., min(self.integ_max, self.prev_integ + error * time_diff))
        output = self.kp * error + self.ki * integ - self.kd * deriv
        duty = max(0., min(self.max_power, output))
        self.prev_temp, self.prev_time, self.prev_deriv = temp, read_time, deriv
        if duty == output:        # not saturated: the integral may move
            self.prev_integ = integ
        return duty

    def check_busy(self, smoothed_temp, target):
        return (abs(target - smoothed_temp) > PID_SETTLE_DELTA
                or abs(self.prev_deriv) > PID_SETTLE_SLOPE)


def make_control(section, max_power, smooth_time):
    control = section.getchoice("control", ["watermark", "pid"])
    if control == "pid":
        kp, ki, kd = (section.getfloat(o) for o in ("pid_Kp", "pid_Ki", "pid_Kd"))
        return ControlPID(kp, ki, kd, max_power, smooth_time)
    return ControlWatermark(section.getfloat("max_delta", 2.0, above=0.), max_power)
