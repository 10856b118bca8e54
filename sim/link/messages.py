"""What the serial queue knows about a message: its deadline class, the
MCU clock it acts at, and the Message record kept for it.

Contract (KLIPPER-FACTS 2.5/2.6): `MOTION`, `HEATER`, `PINS`, `HOMING`
are the deadline classes margins are kept by (`CLASSES`);
`scheduled_clock(name, args, req_clock, now_clock)` is the clock a
command acts at (None: untimed); `queue_step_base` the clock a
queue_step counts its first interval from; `Message` what the host
keeps per message besides its bytes (name, args, clocks, class, when
it was queued).
"""

MOTION, HEATER, PINS, HOMING = "motion", "heater_pwm", "pins", "homing"
CLASSES = (MOTION, HEATER, PINS, HOMING)
MOTION_MSGS = frozenset(("queue_step", "set_next_step_dir", "reset_step_clock"))
MIN_CLOCK_SPAN = 3 << 29     # serialqueue_send_batch: min_clock >= req - this
CLOCK_DIFF_MAX = 3 << 28     # stepcompress.c: far single steps (FACTS 2.6)
UNTIMED_MOTION = frozenset(("set_next_step_dir", "reset_step_clock"))
HOMING_MSGS = frozenset(("endstop_home", "trsync_start", "trsync_set_timeout",
                         "stepper_stop_on_trigger", "trsync_trigger"))


class Message:
    __slots__ = ("name", "args", "data", "req_clock", "min_clock", "sched", "klass",
                 "queued_ns")

    def __init__(self, name, args, data, req_clock, min_clock, sched, klass, queued_ns=0):
        self.name = name
        self.args = args
        self.data = data
        self.req_clock = req_clock
        self.min_clock = min_clock
        self.sched = sched        # MCU clock the command acts at, or None
        self.klass = klass
        self.queued_ns = queued_ns   # when the host handed it to the queue


def queue_step_base(args, req_clock):
    """The clock a queue_step counts its first interval from. Normally
    req_clock (the previous step); a single step at least CLOCK_DIFF_MAX
    after the previous one is requested at its own clock (FACTS 2.6)."""
    if args["interval"] >= CLOCK_DIFF_MAX:
        return req_clock - args["interval"]
    return req_clock


def scheduled_clock(name, args, req_clock, now_clock):
    """The MCU clock a command acts at (None: not a timed command).
    queue_step acts at its first step: req_clock (the previous step) plus
    its interval (FACTS 2.6). set_next_step_dir and reset_step_clock act
    when they are processed, in order with their stepper's queue_steps:
    no deadline of their own."""
    if name == "queue_step":
        return queue_step_base(args, req_clock) + args["interval"] if req_clock else None
    if name in UNTIMED_MOTION:
        return None
    if req_clock:
        return req_clock
    clock = args.get("clock")
    if clock:                     # init commands: 32-bit clock, extend
        base = now_clock & ~0xFFFFFFFF
        full = base | clock
        return full + (1 << 32) if full < now_clock - (1 << 31) else full
    return None


def classify(name, args, heater_oids):
    """The deadline class of a message."""
    if name in MOTION_MSGS:
        return MOTION
    if name in HOMING_MSGS:
        return HOMING
    if name == "queue_digital_out" and args.get("oid") in heater_oids:
        return HEATER
    return PINS
