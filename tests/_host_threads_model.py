"""The Python programs of the tty kworker and the step-generation threads,
as they were before they became native programs (chelper/src/vs_prog.c,
sim/simulate/host_threads.py's facades): the reference model the
property tests (tests/test_native_programs.py) compare the C ones with.
Same constructor and methods as the facades."""
from collections import deque


class StepGenThread:
    def __init__(self, host, costs, name):
        self.host = host
        self.costs = costs
        self.work = deque()
        self.signal = host.sched.signal("stepgen " + name)
        self.thread = host.spawn_role("stepgen", name[:15], self._loop,
                                      at=host.kernel.now + 1)

    def submit(self, steps, done):
        self.work.append((steps, done))
        self.signal.post()

    def _loop(self):
        self.thread.wait(self.signal, self._run)

    def _run(self):
        steps, done = self.work.popleft()
        c = self.costs
        ns = self.host.cost_ns(c.stepgen_wake_ns + steps * c.step_ns)
        self.thread.compute(ns, lambda: self._finish(done))

    def _finish(self, done):
        done.post()
        self.thread.wait(self.signal, self._run)


class TtyWorker:
    """Chunks pass the kworker: a burst takes all pushed so far, costs
    kworker_chunk_ns per chunk (at least one), then hands each on."""

    def __init__(self, host, costs):
        self.host = host
        self.costs = costs
        self.chunks = deque()          # (data, callback)
        self.queues = []               # target number -> serial queue
        self.signal = host.sched.signal("tty flip")
        self.thread = host.spawn_kworker("kworker/tty", self._loop, at=host.kernel.now + 1)

    def target(self, serial_queue):
        if serial_queue not in self.queues:
            self.queues.append(serial_queue)
        return self.queues.index(serial_queue)

    def push(self, data, to):
        deliver = self.queues[to].receive if isinstance(to, int) else to
        self.chunks.append((data, deliver))
        self.signal.post()

    def _loop(self):
        self.thread.wait(self.signal, self._run)

    def _run(self):
        chunks, self.chunks = self.chunks, deque()
        ns = self.host.cost_ns(self.costs.kworker_chunk_ns * max(1, len(chunks)))
        self.thread.compute(ns, lambda: self._done(chunks))

    def _done(self, chunks):
        for data, deliver in chunks:
            deliver(data)
        self.thread.wait(self.signal, self._run)
