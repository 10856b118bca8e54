"""Commands on single steppers and endstops, outside G-code moves
(docs/G-Codes.md "[force_move]", "[stepper_enable]", "[query_endstops]"):

- FORCE_MOVE STEPPER= DISTANCE= VELOCITY= [ACCEL=] (only with
  `[force_move] enable_force_move: True`, as in Klipper): moves one
  stepper by DISTANCE with no kinematic or range check, on a private
  motion queue, after the toolhead's queued moves; the motor is enabled
  first (with a 0.1 s pause when it was off) and the toolhead waits for
  the move. The kinematic position is not changed (SET_KINEMATIC_POSITION
  is the documented follow-up).
- SET_STEPPER_ENABLE STEPPER= ENABLE=0/1: switch one stepper's enable line
  (an unknown stepper is only reported, as Klipper does).
- QUERY_ENDSTOPS / M119: report each endstop. The query is taken at the
  end of the queued moves (so the look-ahead is planned out, as in
  Klipper); no pin drives the endstops offline, so every endstop reads
  "open" (Klipper's batch mode reads them as 0 too).
"""
from ..chelper import motion
from .manual_stepper import calc_move_time
from .stepper_enable import DISABLE_STALL_TIME


class StepperCommands:
    def __init__(self, printer, force_move_enabled):
        self.printer = printer
        self.trapq = printer.motion.allocate_trapq()
        d = printer.dispatcher
        if force_move_enabled:
            d.register("FORCE_MOVE", self.cmd_FORCE_MOVE,
                       "Manually move a stepper; invalidates kinematics")
        d.register("SET_STEPPER_ENABLE", self.cmd_SET_STEPPER_ENABLE,
                   "Enable/disable individual stepper by name")
        d.register("QUERY_ENDSTOPS", self.cmd_QUERY_ENDSTOPS, "Report on the status of each endstop")
        d.alias("M119", "QUERY_ENDSTOPS")

    def _stepper(self, name):
        for stepper in self.printer.motion.steppers:
            if stepper.name == name:
                return stepper
        return None

    # ---- FORCE_MOVE ---------------------------------------------------------
    def cmd_FORCE_MOVE(self, cmd):
        name = cmd.get("STEPPER")
        stepper = self._stepper(name)
        if stepper is None:
            raise cmd.error("Unknown stepper %s" % (name,))
        distance = cmd.get_float("DISTANCE")
        speed = cmd.get_float("VELOCITY", above=0.)
        accel = cmd.get_float("ACCEL", 0., minval=0.)
        self._force_enable(stepper)
        self.manual_move(stepper, distance, speed, accel)

    def _force_enable(self, stepper):
        toolhead = self.printer.toolhead
        print_time = toolhead.get_last_move_time()
        line = self.printer.hw.stepper_enable.by_stepper[stepper.name]
        if not line.is_enabled:
            line.enable(print_time)
            toolhead.dwell(DISABLE_STALL_TIME)

    def manual_move(self, stepper, distance, speed, accel=0.):
        """Step `stepper` by `distance` through a temporary kinematics
        (position = x of its own queue) and give it back its own."""
        toolhead = self.printer.toolhead
        toolhead.flush_step_generation()
        own_kinematics, own_trapq = stepper.kinematics, stepper.trapq
        stepper.set_stepper_kinematics(motion.cartesian_stepper("x"))
        stepper.set_trapq(self.trapq)
        stepper.set_position((0., 0., 0.))
        axis_r, accel_t, cruise_t, cruise_v = calc_move_time(distance, speed, accel)
        print_time = toolhead.get_last_move_time()
        self.trapq.append(print_time, accel_t, cruise_t, accel_t, (0., 0., 0.),
                          (axis_r, 0., 0.), 0., cruise_v, accel)
        move_time = accel_t + cruise_t + accel_t
        self.printer.motion.note_mcu_movequeue_activity(print_time + move_time)
        toolhead.dwell(move_time)
        toolhead.flush_step_generation()
        stepper.set_stepper_kinematics(own_kinematics)
        stepper.set_trapq(own_trapq)
        self.printer.motion.wipe_trapq(self.trapq)

    # ---- enable lines and endstops -------------------------------------------------
    def cmd_SET_STEPPER_ENABLE(self, cmd):
        name = cmd.get("STEPPER", None)
        stepper = self._stepper(name)
        if stepper is None:
            self.printer.dispatcher.info('SET_STEPPER_ENABLE: Invalid stepper "%s"' % (name,))
            return
        enable = cmd.get_int("ENABLE", 1)
        self.printer.hw.stepper_enable.set_enable(self.printer.toolhead, [stepper], enable)

    def cmd_QUERY_ENDSTOPS(self, cmd):
        self.printer.toolhead.get_last_move_time()
        names = [name for name, _endstop in endstops_of(self.printer.toolhead.kin)]
        self.printer.dispatcher.info(" ".join("%s:open" % name for name in names))


def endstops_of(kin):
    """(name, endstop) of every rail of the kinematics, Klipper's short
    names ('x' for stepper_x, the carriage name for a carriage)."""
    found = []
    for rail in getattr(kin, "rails", []):
        name = rail.name[len("stepper_"):] if rail.name.startswith("stepper_") else rail.name
        for endstop in rail.endstops():
            if all(endstop is not e for _n, e in found):
                found.append((name, endstop))
    return found


def load(printer):
    """Built by the printer for every config: FORCE_MOVE only when
    [force_move] enable_force_move is True."""
    enabled = False
    if printer.config.has_section("force_move"):
        enabled = printer.config.section("force_move").getboolean("enable_force_move", False)
    return StepperCommands(printer, enabled)
