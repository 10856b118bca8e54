"""Checks on the commands of a stream before the simulated MCU gets them.

Contract: every integer parameter must fit its declared wire type (the
format string's `%c`, `%hu`, `%u`, `%hi`, `%i`: Klipper's firmware reads
the VLQ into a uint8/uint16/uint32/int16/int32, so a larger value could
not have come from a Klipper host; docs/Protocol.md), and a command for a
stepper or a digital output must name an oid an earlier config command
configured as one.  Each check raises StreamInputError with one line
saying what is wrong; the caller adds the file:line.
"""
# declared type -> (smallest, largest) value
WIRE_RANGES = {
    "%c": (0, 0xFF), "%hu": (0, 0xFFFF), "%u": (0, 0xFFFFFFFF),
    "%hi": (-0x8000, 0x7FFF), "%i": (-0x80000000, 0x7FFFFFFF),
}
# commands that act on a stepper / a digital output oid
STEPPER_COMMANDS = frozenset(("queue_step", "set_next_step_dir", "reset_step_clock"))
OUTPUT_COMMANDS = frozenset(("queue_digital_out",))


class StreamInputError(Exception):
    """A stream command the MCU could not have been sent (one line)."""


def queue_step_ok(args):
    """Whether a queue_step's fields fit `oid=%c interval=%u count=%hu
    add=%hi` (the hot path: plain comparisons)."""
    return (0 <= args["interval"] <= 0xFFFFFFFF and 0 <= args["count"] <= 0xFFFF
            and -0x8000 <= args["add"] <= 0x7FFF)


# Klipper's host sends -1 in a %c field where the firmware reads the
# parameter as signed (config_stepper invert_step=-1: step on both edges,
# KLIPPER-FACTS and shared/reference/README.md); the VLQ carries all 32
# bits and parsedump prints it unsigned.
ALL_ONES = 0xFFFFFFFF


def check_ints(mf, ints):
    """ints = [message id, parameters...] (enumerations resolved)."""
    for (key, fmt), value in zip(mf.params, ints[1:]):
        low, high = WIRE_RANGES.get(fmt, (None, None))
        if low is not None and not low <= value <= high \
                and not (fmt == "%c" and value in (ALL_ONES, -1)):
            raise StreamInputError("%s: %s=%d does not fit its type %s (%d..%d)"
                                   % (mf.name, key, value, fmt, low, high))


def unconfigured(name, args):
    """The error for a command naming an oid never configured for it."""
    kind = "stepper" if name in STEPPER_COMMANDS else (
        "digital output" if name in OUTPUT_COMMANDS else "object")
    return StreamInputError("%s: oid %r is not a configured %s (no config command before it"
                            " names it)" % (name, args.get("oid"), kind))
