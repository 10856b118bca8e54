"""Timed value requests for output pins and fans (Klipper's
GCodeRequestQueue in extras/output_pin.py, KLIPPER-FACTS.md 2.2).

Contract: `RequestQueue(mcu, motion, reactor, apply)` where
`apply(print_time, value)` drives the pin and returns None, or an
(action, min_next_time) pair:
  "discard"    - the value changes nothing: drop the request, send nothing;
  "reschedule" - try this request again later (not before min_next_time);
  "repeat"     - the request was only partly applied (a fan's kick start):
                 apply the same value again, not before min_next_time.
`connect(toolhead)` once the toolhead exists. Two ways in:

* `queue_gcode_request(value)`: toolhead-synced (SET_PIN, M106/M107). The
  request is timed at the end of the moves queued before it (a look-ahead
  callback) and applied from the motion flush callback once the flush
  time has reached it -- so its command goes out with the steps of the
  same time span.
* `send_async_request(value, print_time=None)`: applied at once (timers,
  end of run); without a print time it is the MCU's estimated print time
  MIN_SCHEDULE_TIME ahead (0 in an offline run, hence Klipper's clock=0
  lines).

Consecutive updates of one pin are at least MIN_SCHEDULE_TIME apart;
several requests that fall due at once collapse into the last one.
"""

MIN_SCHEDULE_TIME = 0.100   # mcu.py: min_schedule_time()


class RequestQueue:
    def __init__(self, mcu, motion, reactor, apply):
        self.mcu = mcu
        self.motion = motion
        self.reactor = reactor
        self.apply = apply
        self.toolhead = None
        self.pending = []            # [(print_time, value)] in request order
        self.next_min_time = 0.      # earliest time of the next update
        motion.register_flush_callback(self._flush)

    def connect(self, toolhead):
        self.toolhead = toolhead

    # ---- entry points ---------------------------------------------------
    def queue_gcode_request(self, value):
        self.toolhead.register_lookahead_callback(
            lambda print_time: self._queue(print_time, value))

    def send_async_request(self, value, print_time=None):
        if print_time is None:
            eventtime = self.reactor.monotonic()
            print_time = self.mcu.estimated_print_time(eventtime + MIN_SCHEDULE_TIME)
        while True:
            next_time = max(print_time, self.next_min_time)
            action, min_next = self._call(next_time, value)
            if action == "discard":
                return
            if action == "reschedule":
                continue
            self.next_min_time = max(self.next_min_time, next_time + MIN_SCHEDULE_TIME)
            if action != "repeat":
                return

    def drain(self):
        """Apply every pending request now, whatever the flush time (the
        end of a run: nothing will flush later)."""
        self._flush(float("inf"), float("inf"))

    # ---- internals ------------------------------------------------------
    def _queue(self, print_time, value):
        self.pending.append((print_time, value))
        self.motion.note_mcu_movequeue_activity(print_time, is_step_gen=False)

    def _call(self, print_time, value):
        result = self.apply(print_time, value)
        if result is None:
            return "normal", 0.
        action, min_next = result
        self.next_min_time = max(self.next_min_time, min_next)
        return action, min_next

    def _flush(self, flush_time, step_gen_time):
        """Motion flush callback: apply the requests due by flush_time."""
        pending = self.pending
        while pending:
            next_time = max(pending[0][0], self.next_min_time)
            if next_time > flush_time:
                return
            # Requests already due at next_time override earlier ones.
            last = 0
            while last + 1 < len(pending) and pending[last + 1][0] <= next_time:
                last += 1
            action, _ = self._call(next_time, pending[last][1])
            if action == "discard":
                del pending[:last + 1]
                continue
            if action == "reschedule":
                del pending[:last]
                continue
            del pending[:last if action == "repeat" else last + 1]
            self.next_min_time = max(self.next_min_time, next_time + MIN_SCHEDULE_TIME)
            # Make sure a later flush reaches the next pending request.
            if self.next_min_time != float("inf"):
                self.motion.note_mcu_movequeue_activity(self.next_min_time, is_step_gen=False)
