"""The host's reactor in simulate mode: Klipper's cooperative main thread
on the simulation kernel's integer-ns clock.

Contract: `SimReactor(kernel)` offers the interface host/ code sees
(`monotonic()`, `register_timer`, `update_timer`, `pause`, NOW/NEVER, as
host/reactor.py's BatchReactor). Host time is the kernel's: monotonic()
is kernel.now / 1e9 seconds. Timer wake times are converted to integer
ns once (rounded up), so "due" is an integer comparison.

The main-thread model (sim/simulate/host_threads.py) drives it:
`run_due()` runs the next timer due (Klipper's reactor runs every timer
that is due when it checks, in registration order, before checking
again) in its own greenlet (reused once a callback is done with it)
until the callback returns or pauses, returns when the main thread has
control again, and False when no timer is due; `next_wake_ns()` says
until when the thread may sleep.

Pauses (Klipper's reactor.pause, built on greenlets as Klipper's is): a
callback that calls `pause(waketime)` is suspended; a one-shot resume
timer due at `waketime` switches back into it, and other timers run
meanwhile. `pause` returns the time at which the callback resumed.
`completion()` gives a SimCompletion: a pause that another thread's
`complete(result)` ends early (its resume timer is moved to NOW).
Host code that polls monotonic() LIVELOCK_CALLS times at one instant
raises ReactorLivelock (time cannot move while it spins).
"""
import math
from itertools import compress
from operator import attrgetter

from greenlet import getcurrent, greenlet

NOW = 0.
NEVER = 9999999999999999.
NEVER_NS = 1 << 62
# A host loop that polls the time without pausing never sees it move in a
# simulation (e.g. a wait that returns at once): stop it rather than hang.
# Normal code asks at most a few thousand times per segment.
LIVELOCK_CALLS = 2_000_000
POLL_CHECK = 100_000          # monotonic() looks for a livelock every this many calls
_wake_ns = attrgetter("wake_ns")


class ReactorLivelock(RuntimeError):
    """Host code spins on the clock without letting simulated time pass."""


def to_ns(waketime):
    """Reactor seconds -> integer ns, rounded up (due at or after)."""
    if waketime <= 0.:             # (NOW, the commonest, first)
        return 0
    if waketime >= NEVER:
        return NEVER_NS
    return int(math.ceil(waketime * 1e9))


class SimTimer:
    __slots__ = ("callback", "waketime", "wake_ns", "seq", "oneshot")

    def __init__(self, callback, waketime, seq, oneshot=False):
        self.callback = callback
        self.waketime = waketime
        self.wake_ns = to_ns(waketime)
        self.seq = seq
        self.oneshot = oneshot


class SimReactor:
    NOW = NOW
    NEVER = NEVER

    def __init__(self, kernel, on_timer_change=None):
        self.kernel = kernel
        self._vs = kernel._vs
        self._timers = []            # registration order
        self._seq = 0
        self._batch = []             # timers found due at the last check
        self._main = None            # greenlet that drives the reactor
        self._idle = []              # worker greenlets with no callback to run
        self.on_timer_change = on_timer_change   # wake a sleeping main thread
        self._same_time_ns, self._same_time_checks = -1, 0
        self._polls = POLL_CHECK      # monotonic() calls left before the next check

    # ---- the host's interface ---------------------------------------------
    def monotonic(self):
        self._polls -= 1
        if self._polls <= 0:
            self._check_livelock()
        return self._vs.now / 1e9          # (kernel.now without the property)

    def _check_livelock(self):
        """Every POLL_CHECK calls of monotonic(): raise once they have all
        come at one instant for LIVELOCK_CALLS calls (counted in whole
        checks: between LIVELOCK_CALLS and LIVELOCK_CALLS + POLL_CHECK)."""
        self._polls = POLL_CHECK
        now = self._vs.now
        if now != self._same_time_ns:
            self._same_time_ns, self._same_time_checks = now, 0
            return
        self._same_time_checks += 1
        if self._same_time_checks * POLL_CHECK >= LIVELOCK_CALLS:
            raise ReactorLivelock(
                "host code asked the time %d times at %.6f s without pausing "
                "(a wait that does not go through reactor.pause)"
                % (LIVELOCK_CALLS, now / 1e9))

    def register_timer(self, callback, waketime=NEVER):
        timer = SimTimer(callback, waketime, self._seq)
        self._seq += 1
        self._timers.append(timer)
        self._changed(timer)
        return timer

    def update_timer(self, timer, waketime):
        timer.waketime = waketime
        timer.wake_ns = to_ns(waketime)
        self._changed(timer)

    def unregister_timer(self, timer):
        if timer in self._timers:
            self._timers.remove(timer)

    def pause(self, waketime):
        """Suspend the calling callback until `waketime`; other timers run
        meanwhile. Returns the resume time (seconds)."""
        self._resume_timer(waketime)
        return self._suspend()

    def completion(self):
        return SimCompletion(self)

    def _resume_timer(self, waketime):
        """A one-shot timer that switches back into the calling callback."""
        current = getcurrent()
        if self._main is None or current is self._main:
            raise RuntimeError("reactor.pause outside a timer callback")
        # its callback switches back into `current` with the event time
        resume = SimTimer(current.switch, waketime, self._seq, oneshot=True)
        self._seq += 1
        self._timers.append(resume)
        self._changed(resume)
        return resume

    def _suspend(self):
        """Back to the main thread until the resume timer switches in."""
        self._main.switch()
        return self.monotonic()

    # ---- the main-thread model's interface ----------------------------------
    def run_due(self):
        """Run the next timer due now until its callback returns or
        pauses; False when none is due. (Klipper's reactor runs every timer
        that is due when it checks, in registration order, before checking
        again: the due ones found at a check are kept in _batch, each run
        if still registered and due when its turn comes.)"""
        now = self._vs.now
        batch = self._batch
        while batch:
            timer = batch.pop(0)
            if timer.wake_ns <= now and timer in self._timers:
                break
        else:
            timers = self._timers
            # [t for t in timers if t.wake_ns <= now], without a Python loop
            batch = list(compress(timers, map(now.__ge__, map(_wake_ns, timers))))
            if not batch:
                return False
            self._batch = batch
            timer = batch.pop(0)
        self._main = getcurrent()
        eventtime = self.monotonic()
        if timer.oneshot:
            self._timers.remove(timer)
            timer.callback(eventtime)     # switches into the paused greenlet
            return True
        timer.wake_ns = NEVER_NS
        timer.waketime = NEVER
        worker = self._idle.pop() if self._idle else greenlet(self._worker)
        worker.switch(timer, eventtime)
        return True

    def next_wake_ns(self):
        return min(map(_wake_ns, self._timers), default=NEVER_NS)

    def _worker(self, timer, eventtime):
        """A greenlet that runs one callback per switch from the main
        thread; a callback that pauses keeps it until it resumes. Done, it
        waits for the next one (a new greenlet per run costs more)."""
        idle = self._idle
        while True:
            waketime = timer.callback(eventtime)   # the return value wins,
            timer.waketime = waketime              # as in Klipper's reactor
            timer.wake_ns = to_ns(waketime)
            idle.append(getcurrent())
            timer, eventtime = self._main.switch()

    def _changed(self, timer):
        if self.on_timer_change is not None:
            self.on_timer_change(timer.wake_ns)


class SimCompletion:
    """Klipper's reactor completion: `wait(waketime)` suspends the calling
    callback until another thread's `complete(result)` (e.g. a response
    handler on the serialhdl thread, Klipper's async_complete) or until
    waketime; it returns the result, or waketime_result on timeout."""

    def __init__(self, reactor):
        self.reactor = reactor
        self.done = False
        self.result = None
        self._resume = None        # the waiting callback's resume timer

    def test(self):
        return self.done

    def complete(self, result):
        self.done, self.result = True, result
        if self._resume is not None:
            self.reactor.update_timer(self._resume, NOW)

    def wait(self, waketime=NEVER, waketime_result=None):
        if not self.done:
            self._resume = self.reactor._resume_timer(waketime)
            self.reactor._suspend()
            self._resume = None
        return self.result if self.done else waketime_result
