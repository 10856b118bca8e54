"""G28: homing moves, as Klipper's batch mode performs them.

A homing move (docs/Code_Overview.md, "Homing"; extras/homing.py): arm the
endstops at the current print time (trsync + endstop_home), wait
HOMING_START_DELAY, drip-move toward the endstop, disarm, and take the
position where the endstop triggered. Nothing drives the endstop pins, so
each homing move runs its full travel and the endstop counts as hit at its
end (host/mcu.py Endstop: with a live MCU the host still waits for the
trsync and stops it, and an expired trsync is an error).
A rail homes from 1.5 x its travel range away, retracts by
homing_retract_dist and homes again at second_homing_speed.
"""
import math

from ..gcode.errors import GCodeError

HOMING_START_DELAY = 0.001
ENDSTOP_SAMPLE_TIME = .000015
ENDSTOP_SAMPLE_COUNT = 4


class AnyTriggered:
    """The drip move's completion: done once any endstop's trsync
    triggered (in a simulation only an expiry does that before the end:
    nothing drives the endstop pins); waiting lets time pass meanwhile."""

    def __init__(self, reactor, triggers):
        self.reactor = reactor
        self.triggers = triggers

    def test(self):
        return any(t.test() for t in self.triggers)

    def wait(self, waketime):
        if len(self.triggers) == 1:
            self.triggers[0].wait(waketime)
        else:
            self.reactor.pause(waketime)
        return self.test()


class HomingMove:
    def __init__(self, toolhead, endstops):
        self.toolhead = toolhead
        self.endstops = endstops

    def _endstop_rate(self, endstop, movepos, speed):
        """Seconds per step of the fastest stepper an endstop watches."""
        startpos = self.toolhead.get_position()
        move_d = math.sqrt(sum((m - s) ** 2 for m, s in zip(movepos[:3], startpos[:3])))
        move_t = move_d / speed
        max_steps = max(abs(s.kinematics.calc_position_from_coord(*startpos[:3])
                            - s.kinematics.calc_position_from_coord(*movepos[:3]))
                        / s.step_dist for s in endstop.steppers)
        if max_steps <= 0.:
            return .001
        return move_t / max_steps

    def homing_move(self, movepos, speed, haltpos=None, probe_pos=False):
        """Drip to movepos until an endstop triggers (offline: the end);
        the toolhead is then at haltpos (default movepos). A probing move
        (probe_pos) ends where the steps taken put it (see
        _probe_position)."""
        toolhead = self.toolhead
        check = getattr(toolhead, "check_drip_move", None)   # (a manual stepper's
        if check is not None:                                # adapter has none)
            check(movepos, speed)    # a refused move is refused before arming
        toolhead.flush_step_generation()
        start = self._stepper_positions() if probe_pos else None
        print_time = toolhead.get_last_move_time()
        triggers = []
        for endstop in self.endstops:
            rest_time = self._endstop_rate(endstop, movepos, speed)
            triggers.append(endstop.home_start(print_time, ENDSTOP_SAMPLE_TIME,
                                               ENDSTOP_SAMPLE_COUNT, rest_time,
                                               triggered=True))
        toolhead.dwell(HOMING_START_DELAY)
        toolhead.drip_move(movepos, speed, AnyTriggered(toolhead.reactor, triggers))
        move_end = toolhead.get_last_move_time()
        error = None
        for endstop in self.endstops:
            try:
                endstop.home_wait(move_end)
            except GCodeError as e:     # every endstop is stopped first
                error = error or e
        toolhead.flush_step_generation()
        if error is not None:
            # Klipper sets the toolhead where the steppers halted before
            # raising; here: where step generation of the drip stopped.
            toolhead.set_position(self._halt_position(movepos))
            raise error
        if start is not None:
            haltpos = self._probe_position(start, movepos)
        haltpos = movepos if haltpos is None else haltpos
        toolhead.set_position(haltpos)
        return haltpos

    def _stepper_positions(self):
        """(commanded position of every stepper, step count of the
        endstops' steppers) before a probing move."""
        kin = self.toolhead.kin
        commanded = {s.name: s.get_commanded_position() for s in kin.steppers()}
        steps = {s.name: s.compressor.position for e in self.endstops for s in e.steppers}
        return commanded, steps

    def _probe_position(self, start, movepos):
        """Klipper's position after a probing move: the kinematics'
        position of the steppers' start positions plus the steps each
        endstop stepper took (so Z is a whole number of steps from its
        start, and X/Y go through the kinematics' arithmetic); movepos
        for kinematics without calc_position."""
        kin = self.toolhead.kin
        commanded, steps = start
        by_name = {s.name: s for e in self.endstops for s in e.steppers}
        for name, before in steps.items():
            stepper = by_name[name]
            commanded[name] += (stepper.compressor.position - before) * stepper.step_dist
        position = getattr(kin, "calc_position", lambda spos: None)(commanded)
        if position is None:
            return None
        return list(position)[:3] + list(movepos[3:])

    def _halt_position(self, movepos):
        toolhead = self.toolhead
        halt = toolhead.trapq.position_at(toolhead.motion.last_step_gen_time)
        if halt is None:
            return movepos
        return list(halt) + list(toolhead.get_position()[3:])


def fill_coord(toolhead, coord):
    """`coord` with None entries replaced by the toolhead's position."""
    position = toolhead.get_position()
    return [position[i] if c is None else c for i, c in enumerate(coord)]


def home_rails(toolhead, rails, forcepos, movepos):
    """Home `rails` together: pretend to be at forcepos, move to movepos,
    retract and home again slower."""
    homing_axes = "".join("xyz"[i] for i in range(3) if forcepos[i] is not None)
    startpos = fill_coord(toolhead, forcepos)
    homepos = fill_coord(toolhead, movepos)
    toolhead.set_position(startpos, homing_axes=homing_axes)
    endstops = [e for rail in rails for e in rail.endstops()]
    info = rails[0].homing
    HomingMove(toolhead, endstops).homing_move(
        _drip_target(endstops, forcepos, homepos), info.speed, homepos)
    if info.retract_dist:
        startpos = fill_coord(toolhead, forcepos)
        homepos = fill_coord(toolhead, movepos)
        axes_d = [h - s for h, s in zip(homepos, startpos)]
        move_d = math.sqrt(sum(d * d for d in axes_d[:3]))
        retract_r = min(1., info.retract_dist / move_d)
        retractpos = [h - d * retract_r for h, d in zip(homepos, axes_d)]
        toolhead.move(retractpos, info.retract_speed)
        startpos = [r - d * retract_r for r, d in zip(retractpos, axes_d)]
        toolhead.set_position(startpos)
        HomingMove(toolhead, endstops).homing_move(
            _drip_target(endstops, forcepos, homepos), info.second_homing_speed, homepos)
    toolhead.flush_step_generation()


def _drip_target(endstops, forcepos, homepos):
    """Where a homing move drives: homepos, except on an axis whose
    endstop names its own target (a probe drives to the Z minimum)."""
    target = list(homepos)
    for axis, forced in enumerate(forcepos[:3]):
        if forced is None:
            continue
        for endstop in endstops:
            homing_target = getattr(endstop, "homing_target", None)
            value = homing_target(axis) if homing_target is not None else None
            if value is not None:
                target[axis] = value
    return target


def home_cartesian_axis(toolhead, rail, axis):
    """A rail of the cartesian family homes alone along its own axis."""
    info = rail.homing
    homepos = [None, None, None, None]
    homepos[axis] = info.position_endstop
    forcepos = list(homepos)
    if info.positive_dir:
        forcepos[axis] -= 1.5 * (info.position_endstop - rail.position_min)
    else:
        forcepos[axis] += 1.5 * (rail.position_max - info.position_endstop)
    home_rails(toolhead, [rail], forcepos, homepos)


class Homing:
    """The G28 command; kinematics provide `home(toolhead, axes)`."""

    def __init__(self, toolhead, dispatcher):
        self.toolhead = toolhead
        self.end_listeners = []   # listener(axes): after the axes are homed
        dispatcher.register("G28", self.cmd_G28, "Home axes")

    def cmd_G28(self, cmd):
        axes = [i for i, a in enumerate("XYZ") if cmd.get(a, None) is not None]
        if not axes:
            axes = [0, 1, 2]
        kin = self.toolhead.kin
        if not hasattr(kin, "home"):
            raise cmd.error("Homing is not supported by these kinematics")
        kin.home(self.toolhead, axes)
        for listener in self.end_listeners:
            listener(axes)
