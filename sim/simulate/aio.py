"""Klipper's aio executor thread for [virtual_sdcard] printing.

Contract: `AioExecutor(host, costs)` is the "virtual_sdcard" executor
thread of current Klipper (KLIPPER-FACTS 1: extras/aio_executor.py, a
Python thread running blocking file operations; a print started with
SDCARD_PRINT_FILE reads its G-code file in 8192-byte chunks there and
hands each back to the main reactor with async_complete). Role `aio` of
the thread policy ([threads.aio]: class, nice/priority, affinity).
`read(reactor)` is called by the main thread's G-code feed inside a
reactor callback: it queues one chunk read and pauses the callback (other
reactor timers run meanwhile) until the executor has read it. Per request
the executor takes the GIL for its Python part (queue.get, the call),
releases it for the read syscall, and takes it again to hand the result
back (async_complete), charged with CostModel.aio_request_ns,
aio_read_ns and aio_complete_ns.
"""
from collections import deque

THREAD_NAME = "virtual_sdcard"     # the executor's thread name (FACTS 1)
READ_BYTES = 8192                  # virtual_sdcard's read size (FACTS 1)


class AioExecutor:
    def __init__(self, host, costs):
        self.host = host
        self.costs = costs
        self.requests = deque()        # SimCompletion per queued read
        self.reads = 0
        self.signal = host.sched.signal("aio queue")
        self.thread = host.spawn_role("aio", THREAD_NAME, self._loop, at=host.kernel.now + 1)

    def read(self, reactor):
        """Queue a chunk read and wait for it (called by the main thread)."""
        completion = reactor.completion()
        self.requests.append(completion)
        self.signal.post()
        completion.wait()

    # ---- the executor thread ------------------------------------------------
    def _loop(self):
        if not self.requests:
            self.thread.wait(self.signal, self._loop)
            return
        completion = self.requests.popleft()
        self.host.gil.run(self.thread, self.host.cost_ns(self.costs.aio_request_ns),
                          lambda: self._syscall(completion))

    def _syscall(self, completion):
        self.host.gil.release(self.thread)      # a blocking read releases the GIL
        self.thread.compute(self.host.cost_ns(self.costs.aio_read_ns),
                            lambda: self._hand_back(completion))

    def _hand_back(self, completion):
        self.host.gil.run(self.thread, self.host.cost_ns(self.costs.aio_complete_ns),
                          lambda: self._done(completion))

    def _done(self, completion):
        self.reads += 1
        completion.complete(READ_BYTES)        # reactor.async_complete
        self.host.gil.release(self.thread)
        self.thread.compute(0, self._loop)
