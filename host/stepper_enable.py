"""Stepper enable lines: switched on just before a stepper's first step,
switched off by M84/M18 and at the end of a run.

A line is switched on at the print time of the first move that moves one
of its steppers (the step solver reports that time), so the enable command
goes out ahead of the first step, as Klipper's host does. Steppers that
share an enable pin share one line.
"""
from .mcu import DigitalOut
from .configfile import pin_at

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
        self.motor_off_listeners = []   # f(): Klipper's stepper_enable:motor_off

    def register_stepper(self, stepper, hw):
        text = stepper.enable_pin_text
        key = None
        if text is not None:
            where = stepper.enable_pin_where
            spec = pin_at(text, stepper.name, "enable_pin", where, can_invert=True)
            key = (spec.chip, spec.pin)
            line = self.lines.get(key)
            if line is None:
                mcu = hw.lookup(spec.chip, None, where)
                mcu.check_pin(spec.pin, where)
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

    def set_enable(self, toolhead, steppers, enable):
        """Switch the lines of `steppers` on or off at one print time
        (Klipper's set_motors_enable): generate every pending step first
        (so automatic enables have happened), then change only the lines
        not yet in the wanted state; switching off waits
        DISABLE_STALL_TIME before and after, and only when a line was
        on. Returns the print time of the change, or None."""
        toolhead.flush_step_generation()
        lines = []
        for stepper in steppers:
            line = self.by_stepper[stepper.name]
            if line.is_enabled != bool(enable) and line not in lines:
                lines.append(line)
        if not lines:
            return None
        if not enable:
            toolhead.dwell(DISABLE_STALL_TIME)
        print_time = toolhead.get_last_move_time()
        for line in lines:
            if enable:
                line.enable(print_time)
            else:
                line.disable(print_time)
        if not enable:
            self.rearm(s for s in steppers if self.by_stepper[s.name] in lines)
            toolhead.dwell(DISABLE_STALL_TIME)
        return print_time

    def motors_off(self, toolhead, steppers):
        """M84 and the end of a run: every line off (the full flush first
        is what Klipper's batch outputs show: motor-off lines follow every
        step, 2 ms of step-generation restart later than the last move
        plus the stall). Nothing waits when every motor was off already."""
        print_time = self.set_enable(toolhead, list(steppers), False)
        for listener in self.motor_off_listeners:
            listener()
        return print_time
