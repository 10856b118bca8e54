"""A Linux-process MCU (Klipper's src/linux target, `[mcu host]` with
`serial: /tmp/klipper_host_mcu`) as a process on the host CPUs.

Contract: `LinuxMcuProcess(host, costs, firmware, clock, on_output,
on_shutdown, faults)` offers McuNode's interface (deliver, margins,
shutdown, last_sched_clock, first_late, start/stop/advance) but the
firmware only runs when its virtual thread runs:
- the thread ("klipper_mcu", role `linux_mcu` of the thread policy:
  SCHED_FIFO 49 unless the policy's [threads.linux_mcu] says otherwise;
  its own autogroup, as a separate systemd service) sleeps until the
  firmware's earliest timer or until bytes arrive on its pseudo-tty;
- when it gets the CPU it runs every due timer at the clock of that
  moment (fw_run_late: a timer the thread could not run in time runs
  late, and the Linux MCU's late-repeat rule, 20 repeats with the next
  timer 100 ms in the past, shuts it down with "Rescheduled timer in the
  past", KLIPPER-FACTS 3.1), then takes the received blocks; the work is
  charged (CostModel linux_mcu_*) before it sleeps again;
- its clock is the host's clock at 50 MHz (no drift; the McuClock given);
  bytes it writes leave through the pseudo-tty at once (`on_output`: the
  tty kworker);
- `max_late_ticks` is the largest lateness of a timer it ran (ticks
  after the waketime), `late_hist` counts wake-ups by lateness decade.
"""
from collections import deque

from .firmware_node import McuNode
from ..link.wire import Wire

PROCESS_NAME = "klipper_mcu"     # the process (and its autogroup)
LATE_BINS_US = (10, 100, 1_000, 10_000, 100_000)


class LinuxMcuProcess(McuNode):
    def __init__(self, host, costs, firmware, clock, on_output, on_shutdown=None,
                 faults=None):
        super().__init__(host.kernel, firmware, clock, Wire("pty", 1), on_output, 0,
                         on_shutdown=on_shutdown, faults=faults)
        self.host = host
        self.costs = costs
        self.inbox = deque()            # (data, blocks) received, not taken yet
        self.stopped = False
        self.wakes = 0
        self.max_late_ticks = 0
        self.late_hist = [0] * (len(LATE_BINS_US) + 1)
        self._bins = [us * clock.freq // 1_000_000 for us in LATE_BINS_US]
        self.signal = host.sched.signal(PROCESS_NAME)
        self.thread = host.spawn_process("linux_mcu", PROCESS_NAME, PROCESS_NAME,
                                         self._sleep, at=host.kernel.now + 1)

    # ---- McuNode interface ---------------------------------------------------
    def start(self):
        """The process runs from its creation (no poll timer)."""

    def stop(self):
        self.stopped = True

    def advance(self):
        """Nothing: the firmware only runs on its own thread."""

    def deliver(self, at_ns, data, blocks):
        self.kernel.schedule(at_ns, lambda: self._received(data, blocks))

    def _received(self, data, blocks):
        self.inbox.append((data, blocks))
        self.signal.post()

    # ---- the process -------------------------------------------------------------
    def _sleep(self):
        if self.stopped or self.shutdown is not None:
            self.inbox.clear()          # a shut-down MCU takes nothing more here
            self.thread.wait(self.signal, self._sleep)
            return
        wake_ns = max(self.clock.time_ns(self.fw.next_timer), self.kernel.now)
        self.thread.wait(self.signal, self._run, until=wake_ns)

    def _run(self):
        self.wakes += 1
        now_clock = self.clock.clock(self.kernel.now)
        self._note_lateness(now_clock - self.fw.next_timer)
        dispatches = self.fw.run_late(now_clock)
        if self.thermals is not None:
            self.thermals.update()
        self._emit_pending()
        self._check_shutdown()
        blocks = 0
        while self.inbox and self.shutdown is None:
            data, sent = self.inbox.popleft()
            self.fw.receive(data)
            out = self.fw.read_output()
            self._accept(sent, out, self.fw.now)
            if out:
                self._send_out(out, self.fw.now)
            self._check_shutdown()
            blocks += len(sent)
        c = self.costs
        ns = (c.linux_mcu_wake_ns + dispatches * c.linux_mcu_timer_ns
              + blocks * c.linux_mcu_block_ns)
        self.thread.compute(self.host.cost_ns(ns), self._sleep)

    def _note_lateness(self, late):
        if late < 0:
            return                      # woken by bytes, no timer due yet
        self.max_late_ticks = max(self.max_late_ticks, late)
        i = sum(1 for b in self._bins if late >= b)
        self.late_hist[i] += 1

    def late_report(self):
        freq = self.clock.freq
        labels = ["<%dus" % LATE_BINS_US[0]] + [">=%dus" % us for us in LATE_BINS_US]
        return {"wakes": self.wakes,
                "timer_late_max_ms": round(self.max_late_ticks * 1000. / freq, 4),
                "timer_late_wakes": dict(zip(labels, self.late_hist))}
