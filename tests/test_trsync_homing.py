"""Homing moves in simulate end as with a live Klipper: after each move
the host triggers the trsync past the move's end, disarms the endstop and
stops the trsync with a trsync_trigger query, so the serial thread's
fastreader no longer extends it and the homing traffic is what the drip
moves need (compile mode, which sends no queries, is covered by
tests/test_compile_reference.py)."""
import json
import os

import pytest

from klipsim.host import mcu as hmcu
from klipsim.sim.link.messages import HOMING_MSGS
from klipsim.sim.simulate.simulation import SimOptions, simulate

REF = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                   "golden", "klipper")
CASES = [("cartesian_homing", "atmega2560"), ("user_print_parts", "stm32f446")]
MASK = 0xFFFFFFFF


def unwrap(clocks, start):
    """32-bit clocks that follow one another from `start` (64-bit) in
    steps of less than 2^31 ticks, as 64-bit clocks (a Z homing move can
    outlast 2^32 ticks at 180 MHz)."""
    out, prev = [], start
    for clock in clocks:
        prev += (clock - prev) & MASK
        out.append(prev)
    return out


@pytest.fixture(scope="module", params=CASES, ids=[c for c, _ in CASES])
def homed(request):
    """A simulate run that notes each homing move's start and end clock
    (Endstop.home_start / home_wait) and each trsync_trigger answer."""
    case, profile = request.param
    folder = os.path.join(REF, case)
    moves, replies = [], []
    start, wait, query = hmcu.Endstop.home_start, hmcu.Endstop.home_wait, hmcu.MCU.query

    def note_start(self, print_time, *args, **kwargs):
        moves.append([self.trsync_oid, self.mcu.print_time_to_clock(print_time), None])
        return start(self, print_time, *args, **kwargs)

    def note_wait(self, home_end_time):
        moves[-1][2] = self.mcu.print_time_to_clock(home_end_time)
        return wait(self, home_end_time)

    def note_query(self, name, args, response):
        reply = query(self, name, args, response)
        replies.append((name, dict(args), reply))
        return reply

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hmcu.Endstop, "home_start", note_start)
        mp.setattr(hmcu.Endstop, "home_wait", note_wait)
        mp.setattr(hmcu.MCU, "query", note_query)
        result = simulate(os.path.join(folder, "input.gcode"), os.path.join(folder, "printer.cfg"),
                          SimOptions(profile=profile, record_stream=True, keep_pulses=False))
    meta = json.load(open(os.path.join(folder, "meta.json")))
    return case, result, moves, replies, meta


def armings(stream):
    """The stream cut at each trsync_start: one list of messages per
    homing move, in the order they were handed to the serial queue."""
    parts = []
    for name, args in stream:
        if name == "trsync_start":
            parts.append([])
        if parts:
            parts[-1].append((name, args))
    return parts


def report_ticks(result):
    return int(hmcu.TRSYNC_SINGLE_MCU_TIMEOUT * hmcu.TRSYNC_REPORT_RATIO * result.clock_freq)


def test_run_is_ok_and_every_step_is_made(homed):
    case, result, moves, _replies, meta = homed
    assert result.shutdown is None and result.gcode_errors == 0
    assert moves and all(end is not None for _oid, _start, end in moves)
    steps = sum(p["steps"] for p in result.pulse_counts.values())
    if case == "cartesian_homing":
        assert steps == meta["total_steps"]
    else:
        # simulate already made 4 steps fewer than Klipper's batch output
        # on this print before homing moves were ended live (5397395 of
        # 5397399); the homing moves themselves lose none.
        assert meta["total_steps"] - 4 <= steps <= meta["total_steps"]


def test_each_trsync_is_triggered_past_the_end_then_stopped(homed):
    """The firmware's answer to the host's stop says the trsync had
    triggered with reason past-end-time: the host disarmed it at the
    move's end (not an expiry, not still armed)."""
    _case, _result, moves, replies, _meta = homed
    stops = [(args, reply) for name, args, reply in replies if name == "trsync_trigger"]
    assert len(stops) == len(moves)
    for (args, reply), (oid, _start, _end) in zip(stops, moves):
        assert args == {"oid": oid, "reason": hmcu.REASON_HOST_REQUEST}
        assert reply["oid"] == oid and reply["can_trigger"] == 0
        assert reply["trigger_reason"] == hmcu.REASON_PAST_END_TIME


def test_no_extension_after_the_move_end(homed):
    """Every trsync_set_timeout of an arming extends a report from no
    later than one report period after the move's end (the report that
    tells the host the move is over); after the stop none is sent, and
    the steppers get reset_step_clock."""
    _case, result, moves, _replies, _meta = homed
    period = report_ticks(result)
    expire = int(hmcu.TRSYNC_SINGLE_MCU_TIMEOUT * result.clock_freq)
    parts = armings(result.stream)
    assert len(parts) == len(moves)
    for part, (oid, start, end) in zip(parts, moves):
        names = [name for name, _args in part]
        stop = part.index(("trsync_trigger", {"oid": oid, "reason": hmcu.REASON_HOST_REQUEST}))
        assert ("trsync_trigger", {"oid": oid, "reason": hmcu.REASON_PAST_END_TIME}) in part[:stop]
        assert "trsync_set_timeout" not in names[stop:]
        assert "reset_step_clock" in names[stop:]
        reports = unwrap([(args["clock"] - expire) & MASK for name, args in part[:stop]
                          if name == "trsync_set_timeout"], start)
        assert reports and reports[0] == start
        assert max(reports) <= end + period


def test_homing_traffic_is_what_the_drip_moves_need(homed):
    """Per homing move of duration D the homing commands are: trsync_start,
    stepper_stop_on_trigger per stepper, the first trsync_set_timeout,
    endstop_home twice, trsync_trigger twice, and one extension per
    report from the start to one period past the end (D / 75 ms + 2)."""
    case, result, moves, _replies, _meta = homed
    period = report_ticks(result)
    parts = armings(result.stream)
    bound = extensions_needed = 0
    for part, (oid, start, end) in zip(parts, moves):
        steppers = sum(1 for name, _a in part if name == "stepper_stop_on_trigger")
        reports = (end - start) // period
        bound += 6 + steppers + reports + 2
        extensions_needed += max(0, reports - 2)   # else the 250 ms expiry hits
    stream_homing = sum(1 for name, _a in result.stream if name in HOMING_MSGS)
    extensions = sum(1 for part in parts for name, _a in part[1:] if name == "trsync_set_timeout")
    assert extensions >= extensions_needed
    assert stream_homing <= bound
    assert result.margins.counts["homing"] <= bound
    print("%s: %d homing moves, %d homing commands (bound %d), %d scheduled"
          % (case, len(moves), stream_homing, bound, result.margins.counts["homing"]))


def test_starved_serial_thread_makes_homing_a_comms_timeout():
    """A 300 ms SCHED_FIFO spike on every core (sim/hostcpu/loads/fifo-spikes.toml,
    from 30 s every 10 s) starves the serial thread longer than the
    250 ms trsync timeout during homing moves: the trsync expires, the
    MCU stops the homing stepper, and the G28 fails with the one-line
    error Klipper gives; the print goes on without an MCU shutdown."""
    folder = os.path.join(REF, "cartesian_homing")
    gcode = os.path.join(folder, "input.gcode")
    loads = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         "sim", "hostcpu", "loads", "fifo-spikes.toml")
    result = simulate(gcode, os.path.join(folder, "printer.cfg"),
                      SimOptions(profile="atmega2560", load=loads, keep_pulses=False))
    g28_lines = {"input.gcode:%d" % n for n, line in enumerate(open(gcode), 1)
                 if line.startswith("G28")}
    assert result.shutdown is None
    assert result.gcode_errors == len(result.gcode_error_lines) >= 1
    for line in result.gcode_error_lines:
        place, message = line.split(": ", 1)
        assert place in g28_lines and message == "Communication timeout during homing"
