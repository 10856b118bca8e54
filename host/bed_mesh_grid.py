"""The bed mesh surface: a grid of probed heights, refined by interpolation,
and the height at any (x, y) read from the refined grid.

Contract: `ZMesh(params)` with Klipper's profile parameters (min_x, max_x,
min_y, max_y, x_count, y_count, mesh_x_pps, mesh_y_pps, algo, tension);
`build(probed)` takes the probed heights (y_count rows of x_count values,
row 0 at min_y, column 0 at min_x) and fills the refined grid;
`calc_z(x, y)` is the height there.  Pure arithmetic, no printer state.

How the surface is made (docs/Bed_Mesh.md, "mesh_pps" and "algorithm";
the arithmetic is restated in the order Klipper evaluates it, because the
heights feed Z steps and a different rounding moves a step):

* The refined grid has (count - 1) * pps + count points per axis: `pps`
  new points between every two probed ones.  Probed values sit at every
  (pps + 1)-th grid index.
* First the probed rows are filled along X, then every column along Y
  (which by then holds the X-refined probed rows).
* `lagrange`: the polynomial through all probed points of that row or
  column, sum_i z_i * prod_j(c - c_j) / prod_j(c_i - c_j).
* `bicubic`: a cardinal (Catmull-Rom style) spline per segment with
  tangents tension * (p2 - p0) and tension * (p3 - p1); at the grid's ends
  the outer control point repeats the end point.
* `direct` (pps 0 on both axes): the probed grid itself.
* The height at (x, y) is bilinear in the refined grid's cell, with the
  index clamped to the grid (outside the mesh the edge cell extrapolates
  no further than its edge: t is clamped to [0, 1]).
"""
import math

ALGORITHMS = ("lagrange", "bicubic")


class MeshError(Exception):
    """A mesh that can not be built (Klipper's BedMeshError)."""


def lerp(t, v0, v1):
    """Linear interpolation written as Klipper's bed_mesh writes it."""
    return (1. - t) * v0 + t * v1


def constrain(value, low, high):
    return min(high, max(low, value))


class ZMesh:
    def __init__(self, params, name=None):
        self.params = dict(params)
        self.name = name
        self.probed = None          # y rows of x heights, as probed
        self.matrix = None          # refined grid, same orientation
        self.offsets = [0., 0.]     # BED_MESH_OFFSET X/Y (lookup shift)
        self.x_min, self.x_max = params["min_x"], params["max_x"]
        self.y_min, self.y_max = params["min_y"], params["max_y"]
        self.x_mult = params["mesh_x_pps"] + 1
        self.y_mult = params["mesh_y_pps"] + 1
        self.x_count = (params["x_count"] - 1) * params["mesh_x_pps"] + params["x_count"]
        self.y_count = (params["y_count"] - 1) * params["mesh_y_pps"] + params["y_count"]
        self.x_dist = (self.x_max - self.x_min) / (self.x_count - 1)
        self.y_dist = (self.y_max - self.y_min) / (self.y_count - 1)

    # ---- building ---------------------------------------------------------
    def build(self, probed):
        """Fill the refined grid from `probed` (y_count x x_count)."""
        self.probed = [list(row) for row in probed]
        algo = self.params["algo"]
        if algo == "direct":
            self.matrix = [list(row) for row in self.probed]
            return
        if algo not in ALGORITHMS:
            raise MeshError("bed_mesh: Unknown algorithm <%s>" % (algo,))
        self.matrix = [[0. if (i % self.x_mult or j % self.y_mult)
                        else self.probed[j // self.y_mult][i // self.x_mult]
                        for i in range(self.x_count)]
                       for j in range(self.y_count)]
        if algo == "lagrange":
            self._fill(self._lagrange_x, self._lagrange_y)
        else:
            self._fill(self._bicubic_x, self._bicubic_y)

    def _fill(self, along_x, along_y):
        for y in range(0, self.y_count, self.y_mult):
            for x in range(self.x_count):
                if x % self.x_mult:
                    self.matrix[y][x] = along_x(x, y)
        for x in range(self.x_count):
            for y in range(self.y_count):
                if y % self.y_mult:
                    self.matrix[y][x] = along_y(x, y)

    def x_coord(self, index):
        return self.x_min + self.x_dist * index

    def y_coord(self, index):
        return self.y_min + self.y_dist * index

    def _lagrange_x(self, x, y):
        coords = [self.x_coord(i * self.x_mult) for i in range(self.params["x_count"])]
        values = [self.matrix[y][i * self.x_mult] for i in range(len(coords))]
        return lagrange(coords, values, self.x_coord(x))

    def _lagrange_y(self, x, y):
        coords = [self.y_coord(j * self.y_mult) for j in range(self.params["y_count"])]
        values = [self.matrix[j * self.y_mult][x] for j in range(len(coords))]
        return lagrange(coords, values, self.y_coord(y))

    def _bicubic_x(self, x, y):
        row = self.matrix[y]
        points = control_points(x, self.x_mult, self.x_count, lambda i: row[i])
        return cardinal_spline(points, self.params["tension"])

    def _bicubic_y(self, x, y):
        points = control_points(y, self.y_mult, self.y_count,
                                lambda j: self.matrix[j][x])
        return cardinal_spline(points, self.params["tension"])

    # ---- reading -----------------------------------------------------------
    def calc_z(self, x, y):
        """Height of the surface at (x, y); 0 before the mesh is built."""
        if self.matrix is None:
            return 0.
        tx, xi = self._cell(x + self.offsets[0], self.x_min, self.x_count,
                            self.x_dist, self.x_coord)
        ty, yi = self._cell(y + self.offsets[1], self.y_min, self.y_count,
                            self.y_dist, self.y_coord)
        tbl = self.matrix
        z0 = lerp(tx, tbl[yi][xi], tbl[yi][xi + 1])
        z1 = lerp(tx, tbl[yi + 1][xi], tbl[yi + 1][xi + 1])
        return lerp(ty, z0, z1)

    @staticmethod
    def _cell(coord, low, count, dist, coord_of):
        index = constrain(int(math.floor((coord - low) / dist)), 0, count - 2)
        t = (coord - coord_of(index)) / dist
        return constrain(t, 0., 1.), index

    def z_range(self):
        if self.matrix is None:
            return 0., 0.
        return (min(min(row) for row in self.matrix),
                max(max(row) for row in self.matrix))

    def z_average(self):
        """Mean of the refined grid rounded to 0.01 mm (Klipper rounds it so
        the fade target is a whole number of typical Z steps)."""
        if self.matrix is None:
            return 0.
        total = sum([sum(row) for row in self.matrix])
        return round(total / sum([len(row) for row in self.matrix]), 2)

    def set_zero_reference(self, x, y):
        """Shift every height so the surface is 0 at (x, y)
        (zero_reference_position)."""
        offset = self.calc_z(x, y)
        for grid in (self.probed, self.matrix):
            for row in grid:
                for i in range(len(row)):
                    row[i] -= offset
        return offset

    def set_offsets(self, offsets):
        for i, value in enumerate(offsets):
            if value is not None:
                self.offsets[i] = value

    def rounded(self, grid):
        return [[round(z, 6) for z in row] for row in grid] if grid else [[]]


def lagrange(coords, values, c):
    """Value at c of the polynomial through (coords[i], values[i])."""
    total = 0.
    for i, ci in enumerate(coords):
        num = den = 1.
        for j, cj in enumerate(coords):
            if j == i:
                continue
            num *= (c - cj)
            den *= (ci - cj)
        total += values[i] * num / den
    return total


def control_points(index, mult, count, value_at):
    """(p0, p1, p2, p3, t) of the spline segment holding grid `index`:
    p1/p2 the probed values around it, p0/p3 their outer neighbours (the
    end value repeated at the grid's ends), t the fraction of the way."""
    start = (index // mult) * mult
    last = count - 1
    p1, p2 = value_at(start), value_at(start + mult)
    p0 = value_at(start - mult) if start > 0 else p1
    p3 = value_at(start + 2 * mult) if start + 2 * mult <= last else p2
    return p0, p1, p2, p3, (index - start) / float(mult)


def cardinal_spline(points, tension):
    p0, p1, p2, p3, t = points
    t2 = t * t
    t3 = t2 * t
    m1 = tension * (p2 - p0)
    m2 = tension * (p3 - p1)
    a = p1 * (2 * t3 - 3 * t2 + 1)
    b = p2 * (-2 * t3 + 3 * t2)
    c = m1 * (t3 - 2 * t2 + t)
    d = m2 * (t3 - t2)
    return a + b + c + d
