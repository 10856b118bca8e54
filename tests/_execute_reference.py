"""The Python execute loop that sim/execute/core.py replaced, kept as the
reference model for tests/test_execute_fast.py: messages one by one from
streamio.read_stream, delivery.DeliveryPlanner (Python), a sorted list
as the reorder buffer, groups built in Python and sent with
Firmware.deliver_groups, output decoded in Python, pulses counted with
numpy.  Only the loop is here; everything it shares with the C-driven
executor (handshake, encoding, checks, responses, results) is inherited.
"""
import bisect

from klipsim.chelper import streamio
from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.sim.execute import executor as fast
from klipsim.sim.execute.delivery import DeliveryError, DeliveryPlanner
from klipsim.sim.execute.stream_check import StreamInputError, check_ints, queue_step_ok, \
    unconfigured


class ReferenceExecutor(fast.StreamExecutor):

    def _new_core(self, move_count):
        freq = self.fw.clock_freq
        self.planner = DeliveryPlanner(move_count, self.lead_ticks,
                                       int(fast.END_MARGIN_S * freq),
                                       wide_clocks=self.wide_clocks)
        self.pack_window = int(fast.PACK_WINDOW_S * freq)
        self.open_group = ([], [], [], [], None, 0, {})
        return None

    def drain_pulses(self, before=None):
        pulses = self.fw.take_pulses(before)
        if len(pulses):
            self._summarise(pulses)

    def execute(self, messages):
        self.handshake()
        horizon = int(fast.REORDER_HORIZON_S * self.fw.clock_freq)
        planner, pending, next_sort = self.planner, [], fast.REORDER_BATCH
        qs_format = self.our_dict.lookup("queue_step")
        self.check_format("queue_step")
        for index, (name, args) in enumerate(messages):
            try:
                if name == "queue_step":
                    ints = [qs_format.msgid, args["oid"], args["interval"], args["count"],
                            args["add"]]
                    if not queue_step_ok(args):
                        check_ints(qs_format, ints)
                    ready = planner.plan_queue_step(args)
                    pending.append((ready, index, ints, None, None, planner.deadline))
                else:
                    ready = planner.plan(name, args)
                    pending.append((ready, index, self.encode(name, args), name, args,
                                    planner.deadline))
            except KeyError:
                raise unconfigured(name, args) from None
            if len(pending) >= next_sort:
                pending.sort()
                cut = bisect.bisect_left(pending, (planner.progress - horizon,))
                self.emit_list(pending[:cut])
                del pending[:cut]
                next_sort = len(pending) + fast.REORDER_BATCH
                if self.stopped:
                    break
        self.result.messages = planner.planned
        pending.sort()
        self.emit_list(pending, final=True)
        if not self.stopped:
            if self.fw.tx_pending:
                self.handle_output()
            self.run_to(self.planner.end_clock)
        self.drain_pulses(self.fw.now + 1)
        self.finish()
        return self.result

    def emit_list(self, entries, final=False):
        window = self.pack_window
        ints, msg_ends, group_ends, clocks, first, clock, due = self.open_group
        for ready, _index, mints, name, args, deadline in entries:
            if name is not None:
                if name in fast.WORLD_CHANGES:
                    if msg_ends:
                        self._close_group(group_ends, clocks, msg_ends, clock, due)
                        self.send_list(ints, msg_ends, group_ends, clocks)
                        ints, msg_ends, group_ends, clocks, due = [], [], [], [], {}
                        first = None
                    if self.stopped:
                        return
                self.prepare(name, args)
            if first is None or ready > first + window:
                if first is not None:
                    self._close_group(group_ends, clocks, msg_ends, clock, due)
                    due = {}
                first = clock = ready
            ints += mints
            msg_ends.append(len(ints))
            clock = max(clock, ready)
            if deadline is not None:
                key = name or "queue_step"
                if deadline < due.get(key, deadline + 1):
                    due[key] = deadline
        if final and msg_ends:
            self._close_group(group_ends, clocks, msg_ends, clock, due)
            due = {}
        cut = group_ends[-1] if group_ends else 0
        cut_ints = msg_ends[cut - 1] if cut else 0
        if group_ends:
            self.send_list(ints[:cut_ints], msg_ends[:cut], group_ends, clocks)
        open_ends = [e - cut_ints for e in msg_ends[cut:]]
        self.open_group = (ints[cut_ints:], open_ends, [], [], first if open_ends else None,
                           clock, due)
        self.drain_pulses()

    def _close_group(self, group_ends, clocks, msg_ends, clock, due):
        group_ends.append(len(msg_ends))
        clocks.append(clock)
        margins = self.result.margins
        for key, deadline in due.items():
            if key not in margins or deadline - clock < margins[key]:
                margins[key] = deadline - clock

    def send_list(self, ints, msg_ends, group_ends, clocks):
        batch = fwmcu.GroupBatch(ints, msg_ends, group_ends, clocks)
        done = 0
        while done < batch.count and not self.stopped:
            if self.fw.tx_pending:
                self.handle_output()
                if self.stopped:
                    break
            done, blocks, late = self.fw.deliver_groups(batch, done)
            self.result.blocks += blocks
            self.result.late_groups += late

    def finish(self):
        r = self.result
        r.end_clock = self.fw.now
        r.zero_clock_fixes = self.planner.zero_clock_fixes
        r.timer_dispatches = self.fw.timer_dispatches
        if r.shutdown_reason is None and self.fw.is_shutdown:
            r.shutdown_reason = self.fw.shutdown_reason
            r.shutdown_clock = self._clock64(self.fw.shutdown_clock)
        if r.shutdown_reason is None and self.fw.pending_steps:
            raise fast.ExecuteError("%d steps still queued at the end (clock %d)"
                                    % (self.fw.pending_steps, r.end_clock))
        self.fw.close()


def execute_stream(path, stream_dictionary, profile=None, lead_s=0.5):
    """fast.execute_stream through the reference loop."""
    profile = profile or fast.profile_for_dictionary(stream_dictionary)
    try:
        wide = streamio.stream_kind(path) == "jsonl"
    except ValueError as e:
        raise fast.ExecuteError(str(e)) from None
    executor = ReferenceExecutor(profile, lead_s=lead_s, stream_dictionary=stream_dictionary,
                                 wide_clocks=wide)
    position = streamio.Position()
    try:
        return executor.execute(streamio.read_stream(path, stream_dictionary, position))
    except ValueError as e:
        raise fast.ExecuteError(str(e)) from None
    except (StreamInputError, DeliveryError) as e:
        raise fast.ExecuteError("%s: %s" % (position, e)) from None
