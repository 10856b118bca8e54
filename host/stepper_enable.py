"""Stepper enable lines: switched on just before a stepper's first step,
switched off by M84/M18 and at the end of a run.

A line is switched on at the print time of the first move that moves one
of its steppers (the step solver reports that time), so the enable command
goes out ahead of the first step, as Klipper's host does. Steppers that
share an enable pin share one line.
"""
from .mcu import DigitalOut
from .pins import parse_pin

DISABLE_STALL_TIME = 0.100   # stepper_enable.py: pause around motor off


class EnableLine:
    """One enable pin (or none) shared by one or more steppers."""

    def __init__(self, mcu, pin_spec):
        self.out = None
        if pin_spec is not None:
            self.out = DigitalOut(mcu, pin_spec.pin, pin_spec.invert)
        self.is_enabled = False

    def enable(self, print_time):
        if not self.is_enabled:
            if self.out is not None:
                self.out.set_digital(print_time, 1)
            self.is_enabled = True

    def disable(self, print_time):
        if self.is_enabled:
            if self.out is not None:
                self.out.set_digital(print_time, 0)
            self.is_enabled = False


class StepperEnable:
    """All enable lines of the printer."""

    def __init__(self):
        self.lines = {}        # pin text -> EnableLine (in creation order)
        self.by_stepper = {}   # stepper name -> EnableLine

    def register_stepper(self, stepper, hw):
        text = stepper.enable_pin_text
        key = None
        if text is not None:
            spec = parse_pin(text, can_invert=True)
            key = (spec.chip, spec.pin)
            line = self.lines.get(key)
            if line is None:
                mcu = hw.lookup(spec.chip, None, getattr(stepper, "enable_pin_where",
                                                         "enable_pin"))
                line = self.lines[key] = EnableLine(mcu, spec)
        else:
            line = EnableLine(None, None)
            self.lines[("none", stepper.name)] = line
        self.by_stepper[stepper.name] = line
        stepper.add_active_callback(line.enable)

    def rearm(self, steppers):
        for stepper in steppers:
            line = self.by_stepper[stepper.name]
            stepper.add_active_callback(line.enable)

    def motors_off(self, toolhead, steppers):
        """M84: generate every pending step, wait, switch every line off at
        one print time, wait. (The full flush first is what Klipper's
        batch outputs show: motor-off lines follow every step, 2 ms of
        step-generation restart later than the last move plus the stall.)"""
        toolhead.flush_step_generation()
        toolhead.dwell(DISABLE_STALL_TIME)
        print_time = toolhead.get_last_move_time()
        for line in self.lines.values():
            line.disable(print_time)
        self.rearm(steppers)
        toolhead.dwell(DISABLE_STALL_TIME)
        return print_time
