"""Rotary delta kinematics (docs/Config_Reference.md [printer]
rotary_delta): three shoulders at shoulder_radius/shoulder_height around z
(stepper_a/b/c at 30, 150, 270 degrees) turn upper arms (stepper position
= arm angle in radians); lower arms join the elbows to the effector.

Limits (Klipper's published rotary delta rules): Z up to the lowest
endstop height, the radius up to min(shoulder + upper arm, lower arm -
shoulder), tapering above the height where a lower arm could go
horizontal; Z moves are capped at max_z_velocity (not scaled by the Z
share of the move)."""
import math

from ...chelper import motion
from ..homing import home_rails
from ..stepper import Rail
from .delta import TowerKinematics, trilaterate

TOWER_ANGLES = (30., 150., 270.)


class RotaryDeltaKinematics(TowerKinematics):
    def __init__(self, printer_section, config, hw, trapq):
        sections = [config.section("stepper_" + a) for a in "abc"]
        first_endstop = sections[0].getfloat("position_endstop")
        self.rails = [Rail(sections[0], hw, need_position_minmax=False, units_in_radians=True)]
        for section in sections[1:]:
            self.rails.append(Rail(section, hw, need_position_minmax=False,
                                   default_position_endstop=first_endstop,
                                   units_in_radians=True))
        max_velocity = printer_section.getfloat("max_velocity", above=0.)
        self.max_z_velocity = printer_section.getfloat(
            "max_z_velocity", max_velocity, above=0., maxval=max_velocity)
        self.shoulder_radius = printer_section.getfloat("shoulder_radius", above=0.)
        self.shoulder_height = printer_section.getfloat("shoulder_height", above=0.)
        ua0 = sections[0].getfloat("upper_arm_length", above=0.)
        self.upper_arms = [ua0] + [s.getfloat("upper_arm_length", ua0, above=0.)
                                   for s in sections[1:]]
        la0 = sections[0].getfloat("lower_arm_length", above=0.)
        self.lower_arms = [la0] + [s.getfloat("lower_arm_length", la0, above=0.)
                                   for s in sections[1:]]
        self.angles = [s.getfloat("angle", a) for s, a in zip(sections, TOWER_ANGLES)]
        for rail, angle, ua, la in zip(self.rails, self.angles, self.upper_arms, self.lower_arms):
            rail.setup_itersolve(motion.rotary_delta_stepper(
                self.shoulder_radius, self.shoulder_height, math.radians(angle), ua, la))
            rail.set_trapq(trapq)
        self._derive_limits(printer_section)

    def elbow(self, index, angle):
        """Elbow position of arm `index` with its upper arm at `angle` rad."""
        ua = self.upper_arms[index]
        radial = ua * math.cos(angle) + self.shoulder_radius
        tower = math.radians(self.angles[index])
        return (radial * math.cos(tower), radial * math.sin(tower),
                ua * math.sin(angle) + self.shoulder_height)

    def _derive_limits(self, section):
        endstops = [rail.position_endstop for rail in self.rails]
        end_angles = [rail.stepper.kinematics.calc_position_from_coord(0., 0., ep)
                      for rail, ep in zip(self.rails, endstops)]
        self.home_position = trilaterate(
            [(self.elbow(i, a), la) for i, (a, la) in enumerate(zip(end_angles, self.lower_arms))])
        self.max_z = min(endstops)
        self.min_z = section.getfloat("minimum_z_position", 0., maxval=self.max_z)
        min_reach = min(self.shoulder_radius + ua for ua in self.upper_arms)
        min_lower = min(la - self.shoulder_radius for la in self.lower_arms)
        self.max_xy2 = min(min_reach, min_lower) ** 2
        self.limit_z = min(self.elbow(i, a)[2] - la
                           for i, (a, la) in enumerate(zip(end_angles, self.lower_arms)))

    def _apply_speed_limits(self, move, end_xy2, limit_xy2):
        if move.axes_d[2]:
            # Z speed capped as such (not scaled by the Z share of the move).
            move.limit_speed(self.max_z_velocity, move.accel)
            limit_xy2 = -1.
        return limit_xy2

    def home(self, toolhead, axes):
        """All three arms home together, from just below the bed."""
        forcepos = list(self.home_position) + [None]
        forcepos[2] = -1.
        home_rails(toolhead, self.rails, forcepos, list(self.home_position) + [None])


def load(printer_section, config, hw, trapq):
    return RotaryDeltaKinematics(printer_section, config, hw, trapq)
