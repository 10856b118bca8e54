"""The host's query primitive and the end of a homing move, against fake
links: a live one that answers trsync_trigger at once, one that drops the
first tries, one that never answers, and a compile-mode one."""
import pytest

from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.gcode.errors import GCodeError
from klipsim.host import mcu as hmcu
from klipsim.host.reactor import BatchReactor
from klipsim.sim.compile.batch import BatchClock


class FakeLink:
    """Records what the host sends; answers the first trsync_trigger
    query after `silent` unanswered ones with trsync_state(reason)."""

    def __init__(self, live=True, reason=hmcu.REASON_PAST_END_TIME, silent=0):
        self.can_pause = live
        self.reason = reason
        self.silent = silent
        self.sent = []

    def send(self, mcu, name, args, req_clock=0, min_clock=0):
        self.sent.append((name, dict(args)))

    def query(self, mcu, name, args):
        self.sent.append((name, dict(args)))
        if self.silent:
            self.silent -= 1
            return
        mcu.handle_response("trsync_state", {"oid": args["oid"], "can_trigger": 0,
                                             "trigger_reason": self.reason, "clock": 0})


class FakeStepper:
    def __init__(self, mcu):
        self.mcu, self.oid, self.resets = mcu, 2, 0

    def note_homing_end(self):
        self.resets += 1


def homing_endstop(link):
    mcu = hmcu.MCU("mcu", fwmcu.dictionary("atmega2560"), link, BatchClock())
    mcu.reactor = BatchReactor()
    endstop = hmcu.Endstop(mcu, "PG6", 0, 0)
    stepper = FakeStepper(mcu)
    endstop.add_stepper(stepper)
    trigger = endstop.home_start(1.0, .000015, 4, .001)
    return mcu, endstop, stepper, trigger


def trsync_report(mcu, endstop, can_trigger, reason, clock):
    return mcu.handle_response("trsync_state", {"oid": endstop.trsync_oid, "can_trigger": can_trigger,
                                                "trigger_reason": reason, "clock": clock})


def test_live_end_disarms_then_stops_the_trsync():
    link = FakeLink()
    mcu, endstop, stepper, trigger = homing_endstop(link)
    assert trsync_report(mcu, endstop, 0, hmcu.REASON_PAST_END_TIME, 1234)
    assert trigger.test() and trigger.result == hmcu.REASON_PAST_END_TIME
    assert endstop.home_wait(1.5) == 1.5
    names = [name for name, _args in link.sent]
    disarm = len(names) - 1 - names[::-1].index("endstop_home")
    stop = names.index("trsync_trigger")
    assert disarm < stop == len(names) - 1
    assert link.sent[disarm][1]["sample_count"] == 0
    assert link.sent[stop][1] == {"oid": endstop.trsync_oid, "reason": hmcu.REASON_HOST_REQUEST}
    assert stepper.resets == 1
    # after the stop the host no longer listens to this trsync's reports
    assert not trsync_report(mcu, endstop, 1, 0, 5678)


def test_report_past_the_end_makes_the_host_trigger_the_trsync():
    link = FakeLink()
    mcu, endstop, _stepper, trigger = homing_endstop(link)
    end_clock = mcu.print_time_to_clock(1.5)
    endstop._home_end_clock = end_clock          # home_wait is waiting for the trigger
    trsync_report(mcu, endstop, 1, 0, (end_clock - 1) & 0xFFFFFFFF)
    assert link.sent[-1][0] != "trsync_trigger"
    trsync_report(mcu, endstop, 1, 0, end_clock & 0xFFFFFFFF)
    assert link.sent[-1] == ("trsync_trigger", {"oid": endstop.trsync_oid,
                                                "reason": hmcu.REASON_PAST_END_TIME})
    assert not trigger.test()       # done when the MCU reports can_trigger=0


def test_expired_trsync_is_a_comms_timeout_error():
    link = FakeLink(reason=hmcu.REASON_COMMS_TIMEOUT)
    mcu, endstop, stepper, _trigger = homing_endstop(link)
    trsync_report(mcu, endstop, 0, hmcu.REASON_COMMS_TIMEOUT, 1234)
    with pytest.raises(GCodeError) as info:
        endstop.home_wait(1.5)
    assert str(info.value) == "Communication timeout during homing"
    assert stepper.resets == 1        # the steppers are reset all the same


def test_compile_mode_sends_no_query_and_waits_for_nothing():
    link = FakeLink(live=False)
    _mcu, endstop, stepper, _trigger = homing_endstop(link)
    assert endstop.home_wait(1.5) == 1.5
    assert [name for name, _a in link.sent][-1] == "endstop_home"
    assert "trsync_trigger" not in [name for name, _a in link.sent]
    assert stepper.resets == 0


def test_query_is_resent_until_answered():
    link = FakeLink(silent=2)
    mcu, endstop, _stepper, _trigger = homing_endstop(link)
    reply = mcu.query("trsync_trigger", {"oid": endstop.trsync_oid, "reason": 2}, "trsync_state")
    assert reply["trigger_reason"] == hmcu.REASON_PAST_END_TIME
    assert [name for name, _a in link.sent].count("trsync_trigger") == 3


def test_query_without_answer_gives_up_with_one_line_error():
    link = FakeLink(silent=len(hmcu.QUERY_WINDOWS) + 1)
    mcu, endstop, _stepper, _trigger = homing_endstop(link)
    with pytest.raises(GCodeError, match="unable to obtain 'trsync_state' response"):
        mcu.query("trsync_trigger", {"oid": endstop.trsync_oid, "reason": 2}, "trsync_state")
    assert [name for name, _a in link.sent].count("trsync_trigger") == len(hmcu.QUERY_WINDOWS)
