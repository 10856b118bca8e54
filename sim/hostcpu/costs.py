"""CPU cost model of the Klipper host threads (simulate mode).

Contract: `CostModel` holds the reference cost (ns on x86-vm-2core, the
machine with cpu_speed 1.0) of each host action; `HostCPU.cost_ns` scales
a reference cost to the simulated board. `CostMeter` counts the actions
the host performs during one reactor callback segment (G-code lines,
messages, steps per stepper) so the segment can be charged as one burst.

Where the figures come from (measured on klipsim's own code on the
reference VM, Nov 2026; Klipper's host does the same work in the same
languages, so the relative sizes carry over, the absolute ones are
estimates):
* `klipsim compile` of corexy_print_cylinder: 53,949 G-code lines,
  7.88 M steps, 303 k messages in 4.35 s wall (0.4 s start-up). The step
  part (solve + compress, C) runs at 16.7 M steps/s
  (benchmarks/stepgen_speed.py), i.e. ~60 ns per step; the rest, ~3.5 s,
  is Python: ~55 us per G-code line including look-ahead and trapezoid
  planning, with ~2 us per queued message of Python bookkeeping.
* A reactor wake-up (poll return, timer dispatch, greenlet switch) is
  charged 20 us; a response parsed and handled in serialhdl (msgproto
  parse + handler under a lock) 30 us; the serialqueue C thread 4 us per
  wake-up plus 1 us per block and 0.3 us per message encoded; the tty
  flip-buffer kworker 5 us per chunk received (all estimates of the same
  order as the measured Python/C figures above); the 1 s stats timer
  150 us on the main thread and each log record 30 us on the logger
  thread (estimates: a dozen objects' get_status plus string formatting).
* A Linux-process MCU (klipper_mcu, C): 3 us per wake-up (poll/timerfd
  return), 0.5 us per timer callback and 2 us per received block
  (estimates, of the order of the serialqueue thread's figures).
* The aio executor of [virtual_sdcard] prints (Python thread, FACTS 1):
  15 us of Python per request (queue.get, the call), 10 us for the read
  of 8 KiB from the page cache with the GIL released, 10 us to hand the
  data back (async_complete); estimates of the order of one response
  handled in serialhdl.
* A response the host's objects handle in serialhdl (analog_in_state:
  ADC sum -> thermistor temperature -> smoothing -> PID -> maybe
  set_pwm under the heater's lock) 20 us on top of the parse (estimate:
  a few dozen float operations and calls, less than one G-code line's
  planning); a message it sends costs message_py_ns like the main
  thread's.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CostModel:
    timer_wake_ns: int = 20_000         # main: one reactor callback dispatch
    gcode_line_ns: int = 55_000         # main: parse + plan one G-code line
    message_py_ns: int = 2_000          # main: Python work per message queued
    step_ns: int = 60                   # stepgen: solve + compress one step
    stepgen_wake_ns: int = 5_000        # stepgen: per batch (wake, flush)
    serialq_wake_ns: int = 4_000        # serialq: poll return + bookkeeping
    serialq_block_ns: int = 1_000       # serialq: build/parse + CRC one block
    serialq_message_ns: int = 300       # serialq: encode one message
    serialhdl_response_ns: int = 30_000  # serialhdl: parse + handle one response
    host_response_ns: int = 20_000      # serialhdl: host callback (heater control)
    kworker_chunk_ns: int = 5_000       # tty flip buffer -> ldisc, per chunk
    stats_ns: int = 150_000             # main: 1 s stats timer (PrinterStats:
                                        # collect + format the "Stats" line)
    log_line_ns: int = 30_000           # logger: format + write one record
    linux_mcu_wake_ns: int = 3_000      # Linux MCU process: one wake-up
    linux_mcu_timer_ns: int = 500       # Linux MCU process: one timer callback
    linux_mcu_block_ns: int = 2_000     # Linux MCU process: one received block
    aio_request_ns: int = 15_000        # aio executor: queue.get + call (Python, GIL)
    aio_read_ns: int = 10_000           # aio executor: read() of 8 KiB, GIL released
    aio_complete_ns: int = 10_000       # aio executor: async_complete (Python, GIL)


@dataclass
class CostMeter:
    """Counts host actions between two reads (`take`)."""
    lines: int = 0
    messages: int = 0
    steps: dict = field(default_factory=dict)     # stepper key -> steps
    extra_ns: int = 0             # reference ns of other main-thread work
    log_records: int = 0          # records handed to the logger thread

    def add_steps(self, oid, count):
        self.steps[oid] = self.steps.get(oid, 0) + count

    def take(self):
        """(lines, messages, steps by oid, extra ns) since the last take;
        reset (log_records are taken separately, by whoever logs them)."""
        out = (self.lines, self.messages, self.steps, self.extra_ns)
        self.lines = self.messages = self.extra_ns = 0
        self.steps = {}
        return out
