"""The C host side of execute (firmware/simulator/stream_exec.c) from Python.

Contract: `ExecCore(move_count, lead, ...)` owns one `struct stream_exec`:
the delivery planner (delivery.DeliveryPlanner's rules, ported to
stream_plan.c; the Python class stays as their reference model), the
reorder buffer, the message groups and their delivery to a Firmware,
and the step count.  `plan(name, args)` plans one message the way
DeliveryPlanner.plan does, raising KeyError (an unconfigured oid) and
DeliveryError where it does; everything else moves whole chunks.
"""
from klipsim.firmware.simulator._fwsim import ffi, lib
from klipsim.sim.execute.delivery import DeliveryError

SP_NONE = -(1 << 63)                      # fwsim.h: no deadline
SP_ERR_KEY, SP_ERR_QUEUE, SP_ERR_SLOTS = SP_NONE + 1, SP_NONE + 2, SP_NONE + 3
INT64 = (1 << 63) - 1
NO_KEY = SP_NONE + 100      # stands for an oid no 64-bit key can match

# DeliveryPlanner.plan's cases
KINDS = {
    "set_next_step_dir": lib.SP_STEP_DIR,
    "queue_digital_out": lib.SP_DIGITAL_OUT, "queue_pwm_out": lib.SP_DIGITAL_OUT,
    "reset_step_clock": lib.SP_RESET_STEP,
    "endstop_home": lib.SP_CLOCKED, "trsync_set_timeout": lib.SP_CLOCKED,
    "query_analog_in": lib.SP_CLOCKED, "query_thermocouple": lib.SP_CLOCKED,
    "query_counter": lib.SP_CLOCKED, "buttons_query": lib.SP_CLOCKED,
    "trsync_start": lib.SP_TRSYNC_START,
    "config_stepper": lib.SP_CONFIG_STEPPER,
    "config_digital_out": lib.SP_CONFIG_OUTPUT, "config_pwm_out": lib.SP_CONFIG_OUTPUT,
}


def _key(value):
    """An oid as the C planner's int64 key (a value no int64 holds can
    match no configured oid)."""
    if isinstance(value, int) and not isinstance(value, bool) and -INT64 - 1 <= value <= INT64:
        return value
    return NO_KEY


def _i64(value):
    """A clock-like field as int64, wrapped as two's complement (a value
    that needs the wrap fails the stream's type checks afterwards)."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value > INT64 else value


class ExecCore:
    def __init__(self, move_count, lead, end_margin, wide, window, horizon, batch,
                 qs_id, sd_id, sd_ok):
        self.move_count = move_count
        self._se = lib.se_new(move_count, lead, end_margin, 1 if wide else 0, window,
                              horizon, batch, qs_id, sd_id, 1 if sd_ok else 0)
        self._msg = ffi.new("struct sp_message *")
        self._clock = ffi.new("int64_t *")
        self._deadline = ffi.new("int64_t *")
        self._row = ffi.new("int64_t *")
        self._rare = ffi.new("int32_t *")
        self._stats = ffi.new("struct se_stats *")
        self._keep = []

    def close(self):
        if self._se is not None:
            lib.se_free(self._se)
            self._se = None

    def __del__(self):
        self.close()

    # -- planning ------------------------------------------------------
    def _result(self, ready):
        if ready == SP_ERR_KEY:
            raise KeyError("oid")
        if ready == SP_ERR_QUEUE:
            raise DeliveryError("MCU move queue (%d) smaller than its %d digital outputs"
                                % (self.move_count, self.stats().n_updates))
        if ready == SP_ERR_SLOTS:
            raise DeliveryError("too many objects with oids outside 0..255")
        deadline = self._deadline[0]
        return ready, None if deadline == SP_NONE else deadline

    def plan_queue_step(self, args):
        """(ready, deadline) of a queue_step whose fields fit their types."""
        return self._result(lib.se_plan_queue_step(
            self._se, _key(args["oid"]), args["interval"], args["count"], args["add"],
            self._deadline))

    def plan(self, name, args):
        """(ready, deadline) of any other message, reading `args` in
        DeliveryPlanner.plan's order (so a missing one is the same
        KeyError); a queue_digital_out's zero clock is rewritten."""
        m = self._msg
        m.kind = kind = KINDS.get(name, lib.SP_OTHER)
        m.clock = m.flag = m.trsync_oid = 0
        if kind != lib.SP_OTHER:
            m.oid = _key(args["oid"])
        if kind in (lib.SP_DIGITAL_OUT, lib.SP_RESET_STEP, lib.SP_CLOCKED):
            m.clock = _i64(args["clock"])
        elif kind == lib.SP_TRSYNC_START:
            m.clock = _i64(args["report_clock"])
        elif kind == lib.SP_CONFIG_OUTPUT:
            m.flag = _i64(args["max_duration"])
        if kind == lib.SP_CLOCKED:
            m.flag = name != "endstop_home" or bool(args["sample_count"])
        oid = args.get("oid")
        if oid is None:
            m.queues = lib.SP_Q_BARRIER
        else:
            m.oid = _key(oid)
            if name == "stepper_stop_on_trigger" or (
                    name == "endstop_home" and args["sample_count"]):
                m.queues = lib.SP_Q_OID_TRSYNC
                m.trsync_oid = _key(args["trsync_oid"])
            elif name.startswith("trsync_"):
                m.queues = lib.SP_Q_TRSYNC
            else:
                m.queues = lib.SP_Q_OID
        self._clock[0] = m.clock
        result = self._result(lib.se_plan(self._se, m, self._clock, self._deadline))
        if kind == lib.SP_DIGITAL_OUT and args["clock"] == 0:
            args["clock"] = self._clock[0]
        return result

    # -- the reorder buffer and groups ----------------------------------
    def push(self, ready, deadline, key, rare, ints):
        """Queue one planned message; True when a release is due."""
        return bool(lib.se_push(self._se, ready, SP_NONE if deadline is None else deadline,
                                key, rare, ffi.new("int64_t[]", ints), len(ints)))

    def feed_rows(self, rows_ptr, nrows, start):
        """Plan and queue step rows from `start`: (code, row) where it
        stopped (lib.SE_DONE, SE_RARE, SE_RELEASE or SE_SLOW)."""
        self._row[0] = start
        code = lib.se_feed_rows(self._se, rows_ptr, nrows, self._row)
        return code, self._row[0]

    def release(self, final=False):
        lib.se_release(self._se, 1 if final else 0)

    def emit(self, final, accept_rare):
        """Group released messages; the rare id where it stopped, or None
        when the release list is done."""
        if lib.se_emit(self._se, 1 if final else 0, 1 if accept_rare else 0, self._rare):
            return self._rare[0]
        return None

    def flush(self):
        lib.se_flush(self._se)

    # -- the firmware ------------------------------------------------------
    def set_responses(self, layout, starts, id_offset, n_ids, loud):
        self._keep = [layout, starts, loud]      # C keeps pointers into them
        lib.se_set_responses(self._se, ffi.from_buffer("int8_t[]", layout),
                             ffi.from_buffer("int32_t[]", starts), id_offset, n_ids,
                             ffi.from_buffer("uint8_t[]", loud))

    def deliver(self, fw):
        """Send the closed groups; True when it stopped at output for
        Python (take it with output())."""
        seq = ffi.new("uint8_t *", fw.host_seq)
        ret = lib.se_deliver(self._se, fw._mcu, seq)
        fw.host_seq = seq[0]
        if ret < 0:
            raise ValueError("a message does not fit in one block")
        return ret == 1

    def output(self):
        buf = ffi.new("uint8_t[]", 1 << 16)
        out = b""
        while True:
            n = lib.se_output(self._se, buf, len(buf))
            if not n:
                return out
            out += ffi.buffer(buf, n)[:]

    def drain(self, fw, before):
        lib.se_drain(self._se, fw._mcu, before)

    def pins(self):
        """[(pin, steps, net, first clock, last clock, first chunk)]."""
        out = ffi.new("int64_t[]", 6 * 4096)
        n = lib.se_pins(self._se, out, 4096)
        return [tuple(out[6 * i:6 * i + 6]) for i in range(n)]

    def margins(self):
        """[(key, worst margin)] in the order keys first got one."""
        out = ffi.new("int64_t[]", 3 * 256)
        n = lib.se_margins(self._se, out, 256)
        rows = sorted((out[3 * i + 2], out[3 * i], out[3 * i + 1]) for i in range(n))
        return [(key, margin) for _order, key, margin in rows]

    def stats(self):
        lib.se_get_stats(self._se, self._stats)
        return self._stats
