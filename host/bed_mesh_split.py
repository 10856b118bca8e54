"""Splitting one G-code move into the toolhead moves a loaded bed mesh
needs (docs/Bed_Mesh.md, "move_check_distance" and "split_delta_z").

Contract: `MoveSplitter(split_delta_z, move_check_distance)`;
`initialize(mesh, fade_target)` sets the surface (None: no mesh);
`split(prev, new, factor)` returns the list of (x, y, z, e, ...) toolhead
targets for a move from `prev` to `new` (G-code side, untransformed),
with the mesh correction scaled by the fade `factor` (0..1).

The rule (Klipper's MoveSplitter, restated):
* the correction at a point is factor * (height - fade_target) +
  fade_target, so the mesh fades towards the fade target, not to zero;
* a move that changes X or Y is walked every move_check_distance mm of
  its XYZ length; at each check point the correction is computed and, if
  it differs by split_delta_z or more from the last correction sent, a
  segment ends there (at the interpolated position, Z raised by the new
  correction);
* the move's end is always a segment end, with the correction there;
* a move without X/Y change is one segment (Z plus the end correction).
"""
import math


def _moves(delta):
    """Klipper's per-axis 'does this axis move' test (abs tol 1e-10)."""
    return abs(delta) > 1e-10


class MoveSplitter:
    def __init__(self, split_delta_z, move_check_distance):
        self.split_delta_z = split_delta_z
        self.move_check_distance = move_check_distance
        self.mesh = None
        self.fade_target = 0.

    def initialize(self, mesh, fade_target):
        self.mesh = mesh
        self.fade_target = fade_target

    def correction(self, pos, factor):
        z = self.mesh.calc_z(pos[0], pos[1])
        return factor * (z - self.fade_target) + self.fade_target

    def split(self, prev, new, factor):
        prev = tuple(prev)
        new = tuple(new)
        axes = min(len(prev), len(new))       # x, y, z, e and any extra axes
        deltas = [new[i] - prev[i] for i in range(axes)]
        length = math.sqrt(sum([d * d for d in deltas[:3]]))
        moving = [_moves(d) for d in deltas]
        segments = []
        z_offset = self.correction(prev, factor)
        if moving[0] or moving[1]:
            current = list(prev)
            checked = 0.
            step = self.move_check_distance
            while checked + step < length:
                checked += step
                t = checked / length
                for i in range(axes):
                    if moving[i]:
                        current[i] = (1. - t) * prev[i] + t * new[i]
                next_z = self.correction(current, factor)
                if abs(next_z - z_offset) >= self.split_delta_z:
                    z_offset = next_z
                    segment = list(current)
                    segment[2] += z_offset
                    segments.append(segment)
        end = list(new)
        end[2] += self.correction(end, factor)
        segments.append(end)
        return segments
