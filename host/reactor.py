"""The reactor interface the host sees: time, timers and cooperative
pauses (Klipper's reactor.py design: one injected time source, timer
objects holding a wake time and a callback, NOW/NEVER sentinels).

Timer callbacks take the event time and return their next wake time.

`BatchReactor` is the reactor of an offline run, as in Klipper's batch
mode: wall-clock time is not modelled, so `monotonic()` stays at 0 and a
timer is "due" once it has been set to NOW. Due timers run at the points
where Klipper's reactor would get control back: after each chunk of
G-code input (the driver calls `run_due_timers`) and when the host
pauses (`pause(NOW)` lets due timers run once, then returns).
`completion()` gives an object with Klipper's completion interface; in a
batch run nothing completes it from elsewhere, so `wait` returns at once.
"""

NOW = 0.
NEVER = 9999999999999999.


class Timer:
    __slots__ = ("callback", "waketime")

    def __init__(self, callback, waketime):
        self.callback = callback
        self.waketime = waketime


class BatchReactor:
    NOW = NOW
    NEVER = NEVER

    def __init__(self):
        self._timers = []

    def monotonic(self):
        return 0.

    def register_timer(self, callback, waketime=NEVER):
        timer = Timer(callback, waketime)
        self._timers.append(timer)
        return timer

    def update_timer(self, timer, waketime):
        timer.waketime = waketime

    def run_due_timers(self):
        """Run every due timer once, in registration order."""
        eventtime = self.monotonic()
        for timer in list(self._timers):
            if timer.waketime <= eventtime:
                timer.waketime = NEVER
                timer.waketime = timer.callback(eventtime)

    def pause(self, waketime):
        self.run_due_timers()
        return self.monotonic()

    def completion(self):
        return BatchCompletion()


class BatchCompletion:
    """A completion in a batch run: no other thread exists to complete
    it, so waiting never blocks."""

    def __init__(self):
        self.done = False
        self.result = None

    def test(self):
        return self.done

    def complete(self, result):
        self.done, self.result = True, result

    def wait(self, waketime=NEVER, waketime_result=None):
        return self.result if self.done else waketime_result
