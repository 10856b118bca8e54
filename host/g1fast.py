"""Fast path for plain G0/G1 lines: the Python side of chelper/src/g1fast.c.

Contract: `G1FastPath(dispatcher, gcode_move, toolhead).run_block(data,
lineno, source)` runs a block of complete G-code lines (bytes) exactly as
parsing each line and `dispatcher.run`-ning it would: same trapq contents,
same state, same messages and errors.  Plain moves are lexed, checked and
queued in C; every other line (and every move a check refuses, so Python
reports Klipper's error with file:line) is decoded, parsed and run by the
dispatcher, in file order, after the C state has been copied back.
Returns the line number of the block's last line.  `on_lines`, when
given, is called with the numbers of the command lines (not blank or
comment lines) as they are run, before anything they cause: a list of
the moves C consumed after each C call, [n] before each line Python runs
(simulate charges each line to the burst it starts in and keeps a
per-line timeline).  `enabled=False` runs every line the Python way (the
switch that tests compare the two paths with).

The fast path is used only while nothing could make a plain move behave
otherwise: G0/G1 still run gcode_move's own cmd_G1 (no macro renamed
them), no move transform (bed_mesh, skew, exclude_object ...), no extra
G-code axes, cartesian-family kinematics (AxisLimits), the plain
Extruder. Otherwise every line goes the Python way.

Hand-over: while C runs, the look-ahead queue lives in C and gcode_move's
position, speed and the toolhead's commanded position are C's copies.
Before any Python code runs (a non-move line, a pause check, the end of
the block) they are copied back; the queue stays in C, and the
toolhead's `lookahead` is a stand-in (_QueueInC) until Python code first
touches it: then the queue is exported as lookahead.Move objects into
the real LookAheadQueue, which takes the stand-in's place. Entering
again imports them (nothing to do when Python never touched the queue,
or left the exported one as it was). A pause lets other timers run, and
most of them never look at the queue: it is not exported for them.  The look-ahead flush runs in
C (plan + release, the toolhead's trapq appends) between the toolhead's
own _begin_timing and _end_timing, and the Python moves it releases get
their timing callbacks with their end times.
"""
from itertools import chain as _chain
from operator import attrgetter
from struct import Struct

from ..chelper._chelper import ffi, lib
from ..gcode.command import parse_line
from ..gcode.errors import GCodeError, GCodeInternalError
from .extruder import Extruder
from .gcode_move import GCodeMove
from .kinematics.cartesian import AxisLimits, CartesianFamily
from .lookahead import LookAheadQueue, Move
from .toolhead import ToolHead, ToolheadLimits

# Move slots copied between Python and C (timing_callbacks stays Python's).
_SCALARS = ("move_d", "accel", "junction_deviation", "min_move_t",
            "max_start_v2", "max_cruise_v2", "delta_v2", "next_junction_v2",
            "max_smoothed_v2", "smooth_delta_v2", "start_v", "cruise_v", "end_v",
            "accel_t", "cruise_t", "decel_t")
# Scalars copied into struct g1_state (same names), by owner, in the
# struct's order (its doubles are filled as one array: _enter).
_move_fields = attrgetter("speed", "speed_factor", "extrude_factor")
_timing_fields = attrgetter("print_time", "need_check_pause")
_limits_fields = attrgetter("max_velocity", "max_accel", "junction_deviation",
                            "max_accel_to_decel")
_axis_fields = attrgetter("max_z_velocity", "max_z_accel")
_extruder_fields = attrgetter("max_e_dist", "max_e_velocity", "max_e_accel",
                              "max_extrude_ratio", "nozzle_diameter", "instant_corner_v")
_lookahead_fields = attrgetter("junction_flush", "flush_time")
# struct g1_state: 4 ints, then only doubles from `base` to `flush_time`
_DOUBLES = Struct("=%dd" % ((ffi.offsetof("struct g1_state", "flush_time")
                             - ffi.offsetof("struct g1_state", "base"))
                            // ffi.sizeof("double") + 1))
_unpack = ffi.unpack
_new_move = Move.__new__


def _handler_is(handler, owner, func):
    return getattr(handler, "__func__", None) is func and handler.__self__ is owner


class G1FastPath:
    def __init__(self, dispatcher, gcode_move, toolhead, on_lines=None, enabled=True):
        self.dispatcher = dispatcher
        self.on_lines = on_lines
        self.enabled = enabled
        self.gcode_move = gcode_move
        self.toolhead = toolhead
        self._g = ffi.gc(lib.g1fast_new(), lib.g1fast_free)
        self.st = lib.g1fast_state(self._g)
        self._state_buffer = ffi.buffer(ffi.addressof(self.st, "base"), _DOUBLES.size)
        self.pymoves = []       # py_id -> Move (the exported/imported ones)
        self.exported = None    # the Python queue as last exported
        self.lookahead = toolhead.lookahead   # the real one (the stand-in's target)
        self._in_c = _QueueInC(self)
        self._pos = ffi.new("int *")
        self._start = ffi.new("int *")
        self._end = ffi.new("int *")
        self._lineno = ffi.new("int *")
        self._count = ffi.new("int *")

    # ---- when it applies -----------------------------------------------
    def eligible(self):
        """True when plain moves may run in C; sets which of G0/G1 may."""
        gm, th = self.gcode_move, self.toolhead
        handlers = self.dispatcher.handlers
        g0 = _handler_is(handlers.get("G0"), gm, GCodeMove.cmd_G1)
        g1 = _handler_is(handlers.get("G1"), gm, GCodeMove.cmd_G1)
        kin = th.kin
        lookahead = th.lookahead
        if lookahead is self._in_c:
            lookahead = self.lookahead
        ok = (self.enabled and (g0 or g1) and type(gm) is GCodeMove and gm.move_transform is th
              and not gm.extra_letters and type(th) is ToolHead and not th.extra_axes
              and type(lookahead) is LookAheadQueue
              and type(th.limits) is ToolheadLimits
              and type(kin).check_move is CartesianFamily.check_move
              and type(getattr(kin, "axis_limits", None)) is AxisLimits
              and type(th.extruder) is Extruder)
        self.st.allow_g0, self.st.allow_g1 = g0, g1
        return bool(ok)

    # ---- running a block ---------------------------------------------------
    def run_block(self, data, lineno, source):
        if not self.eligible():
            return self._run_python(data, 0, lineno, source)
        buf = ffi.from_buffer(data)
        pos, start, end, line = self._pos, self._start, self._end, self._lineno
        pos[0], line[0] = 0, lineno
        size = len(data)
        dispatcher, on_lines = self.dispatcher, self.on_lines
        self._enter()
        while True:
            status = lib.g1fast_run(self._g, buf, size, pos, start, end, line)
            if on_lines is not None:
                self._note_c_lines()
            if status == lib.G1_END:
                break
            if status != lib.G1_PYTHON:
                self._after_move(status, data, source, line[0])
                if dispatcher.stopped:
                    self._leave()
                    return line[0]
            else:
                self._leave()
                text = data[start[0]:end[0]].decode("utf-8", "replace")
                cmd = parse_line(text, source, line[0])
                if cmd is not None:
                    if on_lines is not None:
                        on_lines((line[0],))
                    dispatcher.run(cmd)
                pos[0] = end[0] + 1
                if dispatcher.stopped:
                    return line[0]
                if not self.eligible():
                    return self._run_python(data, pos[0], line[0], source)
                self._enter()
        self._leave()
        return line[0]

    def _note_c_lines(self):
        """Pass on the numbers of the move lines the last C call ran."""
        lines = lib.g1fast_lines(self._g, self._count)
        if self._count[0]:
            self.on_lines(_unpack(lines, self._count[0]))

    def _run_python(self, data, start, lineno, source):
        """The rest of the block the Python way (as sim/batch did)."""
        text = data[start:].decode("utf-8", "replace")
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        run, on_lines = self.dispatcher.run, self.on_lines
        for raw in lines:
            lineno += 1
            cmd = parse_line(raw, source, lineno)
            if cmd is not None:
                if on_lines is not None:
                    on_lines((lineno,))
                run(cmd)
                if self.dispatcher.stopped:
                    break
        return lineno

    # ---- flushing and pausing ------------------------------------------------
    def _after_move(self, status, data, source, lineno):
        """What toolhead.move does after queueing the move just run (line
        [start, end) of `data`): the lazy flush when due, then the pause
        check.  Their errors are that line's, reported as the dispatcher
        reports a command's."""
        th = self.toolhead
        try:
            if status == lib.G1_FLUSH:
                self._flush_lazy()
                if not th.print_time > th.need_check_pause:
                    return
            self._check_pause()
        except GCodeError as error:
            self.dispatcher.report_error(error.located(source, lineno))
        except Exception as exc:
            raw = data[self._start[0]:self._end[0]]
            cmd = parse_line(raw.decode("utf-8", "replace"), source, lineno)
            raise GCodeInternalError("%s: Internal error on command \"%s\": %s: %s"
                                     % (cmd.location, cmd.name, type(exc).__name__, exc)) from exc

    def _flush_lazy(self):
        """toolhead._process_lookahead(lazy=True) with the queue in C."""
        th = self.toolhead
        count = lib.g1fast_plan(self._g, 1)
        if count < 0:
            # a move without a cruise speed: let Python's flush fail on it
            self._leave()
            try:
                th._process_lookahead(lazy=True)
            finally:
                self._enter()
            return
        if not count:
            return
        try:
            th._begin_timing()
            rel = lib.g1fast_release(self._g, count, th.print_time, th.trapq._tq,
                                     th.extruder.trapq._tq)
            if rel.has_e:
                th.extruder.last_position = rel.last_e
            pymoves = self.pymoves
            for i in range(rel.n_py):
                for callback in pymoves[rel.py_ids[i]].timing_callbacks:
                    callback(rel.py_end_times[i])
            th._end_timing(rel.next_move_time)
        finally:
            self.st.print_time = th.print_time
            self.st.need_check_pause = th.need_check_pause

    def _check_pause(self):
        """The toolhead's pause check runs reactor timers (the step flush
        may flush the look-ahead): Python must hold the state."""
        self._leave()
        try:
            self.toolhead._check_pause()
        finally:
            self._enter()

    # ---- state hand-over -------------------------------------------------------
    def _enter(self):
        st, gm, th = self.st, self.gcode_move, self.toolhead
        lookahead = th.lookahead
        in_c = lookahead is self._in_c
        if in_c:                   # untouched since _leave: C still has the queue
            th.lookahead = lookahead = self.lookahead
        else:
            self.lookahead = lookahead
        st.absolute_coord, st.absolute_extrude = gm.absolute_coord, gm.absolute_extrude
        axis_limits = th.kin.axis_limits
        # every double of struct g1_state, in its order, in one copy (the
        # axis limits ((xl, xh), (yl, yh), (zl, zh)) as xl, yl, zl, xh, yh, zh)
        _DOUBLES.pack_into(self._state_buffer, 0,
            *gm.base_position[:4], *gm.last_position[:4], *_move_fields(gm),
            *th.commanded_pos[:4], *_timing_fields(th),
            *_limits_fields(th.limits), *_chain(*zip(*axis_limits.limits)),
            *_axis_fields(axis_limits), *_extruder_fields(th.extruder),
            *_lookahead_fields(lookahead))
        if not in_c:
            self._import_queue()

    def _leave(self):
        st, gm, th = self.st, self.gcode_move, self.toolhead
        gm.last_position[:4] = _unpack(st.last, 4)
        gm.speed = st.speed
        th.commanded_pos[:4] = _unpack(st.commanded, 4)
        self.lookahead.junction_flush = st.junction_flush
        th.lookahead = self._in_c    # the queue is exported when first looked at

    def _import_queue(self):
        queue = self.toolhead.lookahead.queue
        exported = self.exported
        if (exported is not None and len(exported) == len(queue)
                and lib.g1fast_queue_len(self._g) == len(queue)
                and all(a is b for a, b in zip(exported, queue))):
            del queue[:]     # untouched since the export: C still has it
            return
        lib.g1fast_queue_clear(self._g)
        self.pymoves = list(queue)
        for py_id, move in enumerate(queue):
            _move_to_c(lib.g1fast_queue_push(self._g), move, py_id)
        del queue[:]

    def _export_queue(self):
        """The C queue as lookahead.Move objects in the real look-ahead
        queue, which replaces the stand-in on the toolhead."""
        self.toolhead.lookahead = self.lookahead
        count = lib.g1fast_queue_len(self._g)
        cmoves = lib.g1fast_queue(self._g)
        old, moves = self.pymoves, []
        for i in range(count):
            cmove = cmoves + i
            py_id = cmove.py_id
            moves.append(old[py_id] if py_id >= 0 else _move_from_c(cmove))
            cmove.py_id = i
        self.pymoves = moves
        self.lookahead.queue[:] = moves
        self.exported = list(moves)


class _QueueInC:
    """The toolhead's `lookahead` while the queue is still in C (after
    _leave): the first attribute read or write exports the queue, puts
    the real LookAheadQueue back on the toolhead and goes on with it."""

    __slots__ = ("_fast",)

    def __init__(self, fast):
        object.__setattr__(self, "_fast", fast)

    def _real(self):
        fast = object.__getattribute__(self, "_fast")
        if fast.toolhead.lookahead is self:
            fast._export_queue()
        return fast.lookahead

    def __getattr__(self, name):
        return getattr(self._real(), name)

    def __setattr__(self, name, value):
        setattr(self._real(), name, value)


def _move_to_c(c, move, py_id):
    c.start_pos = list(move.start_pos[:4])
    c.end_pos = list(move.end_pos[:4])
    c.axes_d = list(move.axes_d[:4])
    c.axes_r = list(move.axes_r[:4])
    for name in _SCALARS:
        setattr(c, name, getattr(move, name))
    c.is_kinematic_move = move.is_kinematic_move
    c.py_id = py_id


def _move_from_c(cmove):
    """A lookahead.Move holding a C move's fields (one unpack of the 32
    doubles that open struct g1_move, in its field order)."""
    v = _unpack(ffi.cast("double *", cmove), 32)
    move = _new_move(Move)
    move.start_pos = tuple(v[0:4])
    move.end_pos = tuple(v[4:8])
    move.axes_d = v[8:12]
    move.axes_r = v[12:16]
    (move.move_d, move.accel, move.junction_deviation, move.min_move_t,
     move.max_start_v2, move.max_cruise_v2, move.delta_v2, move.next_junction_v2,
     move.max_smoothed_v2, move.smooth_delta_v2, move.start_v, move.cruise_v,
     move.end_v, move.accel_t, move.cruise_t, move.decel_t) = v[16:32]
    move.is_kinematic_move = bool(cmove.is_kinematic_move)
    move.timing_callbacks = []
    return move
