"""One firmware instance on its own clock, fed by the simulated wire.

Contract: `McuNode(kernel, firmware, clock, wire_out, on_output, poll_ns)`
- `deliver(at_ns, data, blocks)`: bytes from the host arrive at host
  time at_ns: the firmware runs up to that instant's MCU clock, then
  receives them; the acks it writes leave at once. A block's messages
  get their margins recorded when the firmware takes the block (its ack
  names the next sequence): margin = scheduled clock - arrival clock,
  per deadline class (a damaged or out-of-order block counts only when
  a later copy is taken);
- `faults` (LineFaults) damages what the firmware writes on its way to
  the host; on a UART the firmware's receive buffer holds RECEIVE_WINDOW
  bytes (mcu_link sets it) and each host write arrives as one burst
  before its command task runs, so a burst beyond the free room is lost:
  `rx_stats.mcu_rx_lost` (the host's receive window prevents it);
- the firmware is advanced by events, never polled: at each block
  arrival, and at a wake-up where it could next transmit on its own
  (trsync_state, analog_in_state, stats, a shutdown): the firmware's
  `quiet_until` bound, rounded up to the "poll grid" (start + k *
  `poll_ns`), the instant a poll every poll_ns would have found it, so
  reports leave at the clock they were written and reach the host at the
  same instants as when the node polled (late by at most poll_ns); the
  wake-up is a C event (fw_node.c fw_node_wake_event, _wake's port)
  handing back to _wake / _on_stop / _wake_rest where Python must go on;
- `on_output(data)` receives each chunk the firmware wrote, when its
  last byte has crossed the MCU->host wire (`set_output_sink` gives the
  C arrival a C sink doing the same);
- `deliver_block(at_ns, block)`: deliver(at_ns, block.frame, [block]);
  a block of queue_steps (and no message _note_block records) arrives
  as one C event
  (firmware/simulator/fw_node.c: the firmware's run and receive, the
  ack, the margins, the output, the wake plan when it stands) that hands
  back to the Python path below where anything else must happen (it is
  the reference: tests/test_fw_node_port.py); the state both read is
  kept in the C struct or mirrored there (`_mirror_*`); the firmware's
  output goes out through the C output event (`_send_out`);
- the simulated world: endstops never trigger (a homing pin reads the
  non-trigger level, see sim/mcus/world_inputs.py) and ADC inputs read the
  middle of the allowed range, so no sensor check trips, except the
  heaters' sensors when `set_thermals(thermals)` installed a thermal model
  (sim/mcus/thermal.py; its chain and the bookkeeping below run in C,
  fw_node.c, which the Python paths call): its update points are the grid points and block
  arrivals (each UPDATE_PERIOD, the first one due), replayed when the
  firmware is about to sample a sensor pin after the last value's
  validity (the firmware stops there: fw_run_until FW_STOP_SAMPLE), so
  the firmware reads what polling gave it; `sync()` (end of run, a read
  of the temperatures) brings firmware and plants to the last grid point;
- `shutdown` holds (reason, clock) once the firmware shut down;
  `missed_update_oid()` names the digital-out pin whose max_duration
  deadline is that clock (for "Missed scheduling of next digital out
  event": the pin whose refresh never came).
"""
from functools import partial

from ...firmware.simulator import mcu as fwmcu
from ...firmware.simulator.mcu import (NEVER, RUN_REACHED, RUN_SAMPLE, STOP_OUTPUT,
                                       STOP_SAMPLE)
from ...chelper import msgblock
from .margins import Margins
from .node_c import NOTED_HERE, CArrival
from .world_inputs import NOTED, SimulatedInputs
from ..link.faults import LineFaults
from ..link.messages import HEATER, MOTION

SEQ_MASK = msgblock.MESSAGE_SEQ_MASK
OUT_MAX = fwmcu.lib.FW_NODE_OUT_MAX      # the longest chunk a C output event holds
STOPS = STOP_OUTPUT | STOP_SAMPLE      # where a run hands back to the node


class McuNode(CArrival):
    def __init__(self, kernel, firmware, clock, wire_out, on_output, poll_ns,
                 on_shutdown=None, faults=None):
        self.kernel = kernel
        self.fw = firmware
        self.clock = clock
        self.wire_out = wire_out
        self.on_output = on_output
        self.on_shutdown = on_shutdown
        self.poll_ns = poll_ns
        self.margins = Margins()
        self._c = self._c_node()    # the C arrival's state (fw_node.h), mirrored below
        self._shutdown = None
        self.inputs = SimulatedInputs(firmware,
                                      int(firmware.dictionary.constant("ADC_MAX", 4095)))
        self._first_late = None     # (message, sent ns, arrival ns, tty ns) of the first late one
        self._py_wake = None        # the wake event when not _fast (node_c._wake_event)
        self._planned_quiet = None  # fw.quiet_until when _wake_event was planned
        self._grid0 = None          # kernel ns of the poll grid's origin (start())
        self._stopped = False
        self.wakes = 0              # wake-ups for the firmware's own output
        self.faults = faults or LineFaults(None)
        self.expected_seq = firmware.host_seq    # after the handshake
        self.thermals = None
        self._mirror_py_only()
        self.max_durations = {}     # digital out oid -> max_duration ticks (if any)
        self.rx_stats = None        # LinkStats told of bytes lost to a full receive buffer

    def set_thermals(self, thermals):
        self.thermals = thermals
        self.inputs.driven_adc |= thermals.sensor_pins
        thermals.update()
        thermals.before_read = self.sync
        self._c.thermal = thermals._c
        self._c.grid.period = thermals.period

    def start(self):
        """The poll grid starts now: its points are now + k * poll_ns."""
        self._grid0 = self.kernel.now
        self._mirror_grid()
        if self.thermals is not None:
            for pin in sorted(self.thermals.sensor_pins):
                self.fw.watch_adc(pin)
            self._set_valid_until()      # (mirrors the plants)
        self._plan_wake()

    def stop(self):
        """End of the run: the firmware is brought where the last poll
        left it (the run's results count the pulses up to there)."""
        self.kernel.cancel(self._wake_event)
        self._set_wake(None)
        self._stopped = True
        self._mirror_py_only()
        self.sync()

    def sync(self):
        """Bring the firmware (and the heaters' plants) to the last poll
        grid point before now, where polling would have left them: a read
        of the plants' temperatures, or the run's end. Nothing can be sent
        on the way (_plan_wake would have woken there)."""
        if self.shutdown is None and self._grid0 is not None:
            last = self._grid_after_ns(self.kernel.now - 1) - self.poll_ns
            if last > self._grid0 and self.clock.clock(last) > self.fw.now:
                self._advance(self.clock.clock(last))

    # ---- host -> MCU ---------------------------------------------------------
    def deliver(self, at_ns, data, blocks):
        """`data` (possibly damaged on the wire) arrives at at_ns; `blocks`
        are the host blocks it was made of."""
        self.kernel.schedule(at_ns, partial(self._arrive, data, blocks))

    def _arrive(self, data, blocks):
        if self.shutdown is not None:
            return
        # one C call runs the firmware to the arrival and receives there
        result = self.fw.arrive(self.clock.clock(self.kernel.now), STOPS, data)
        self._arrive_rest(data, blocks, *result)

    def _arrive_rest(self, data, blocks, state, out, lost, quiet, now, planted=False):
        """_arrive after the firmware ran to the arrival and received
        `data` there (Firmware.arrive's results); `planted`: the plants'
        update point there was done (by the C arrival)."""
        fw = self.fw
        now_ns = self.kernel.now
        if out is None:        # it stopped on the way: _advance's loop, then receive
            target = self.clock.clock(now_ns)
            self._on_stop(state)
            self._advance(target)
            if self.shutdown is not None:
                return
            fw.receive(data)
            out = fw.read_output()
            lost, quiet, now = fw.rx_overflow, None, fw.now
        elif self.thermals is not None and not planted:
            # (the run's end, after the receive: commands touch neither the
            # plants nor the ADC validity, which only timers read)
            self._plants_at_run_end(now)
        if self.rx_stats is not None:
            self.rx_stats.mcu_rx_lost = lost
        self._c.rx_lost = lost
        if out:
            self._accept(blocks, out, now, now_ns)
            self._send_out(out, now, now_ns)
        if quiet is None or quiet == NEVER:    # (only a shut-down MCU is quiet forever...)
            self._check_shutdown()
        # (...and the bound depends on timers alone, not on the inputs
        # _note_block may have set)
        self._plan_wake(quiet)

    def _accept(self, blocks, out, arrival, now_ns):
        """Blocks the firmware took: its replies name the next sequence it
        expects; every block from the previous expectation up to it was
        executed now, MCU clock `arrival`, host time now_ns (margins are
        recorded at that moment)."""
        if not out:
            return
        self._sync_noted()
        # (the firmware's own output, not yet through the faults: whole
        # blocks, each led by its length; the last one names the sequence)
        pos = last = 0
        while pos < len(out):
            last, pos = pos, pos + out[pos]
        expected = out[last + 1] & SEQ_MASK
        first = self.expected_seq
        count = (expected - first) & SEQ_MASK
        self.expected_seq = expected
        if len(blocks) == 1:      # (the usual case: one block on the wire)
            block = blocks[0]
            if not block.arrived and (block.seq - first) & SEQ_MASK < count:
                block.arrived = True
                self._note_block(block, arrival, now_ns)
            return
        by_seq = {b.seq: b for b in blocks}
        for k in range(count):
            block = by_seq.get((first + k) & SEQ_MASK)
            if block is not None and not block.arrived:
                block.arrived = True
                self._note_block(block, arrival, now_ns)

    def _note_block(self, block, arrival, now_ns):
        """Margins of a block the firmware took at MCU clock `arrival`,
        host time now_ns."""
        motion = block.motion      # the timed queue_steps, summarised in C
        if motion is not None and not block.generic \
                and (motion[1] >= arrival or self.first_late is not None):
            # (the usual block: queue_steps only, none the first late one)
            count, low, high = motion
            worst = low - arrival
            margins = self.margins
            margins.add_many(MOTION, worst, count)
            if high > self.last_sched_clock:
                self.last_sched_clock = high
            margins.add_series(now_ns, worst)
            margins.note_one(now_ns, MOTION, worst)
            return
        worst = None
        worst_by = {}
        add_margin = self.margins.add
        last_sched = self.last_sched_clock
        if motion is None or motion[1] >= arrival or self.first_late is not None:
            # none of them is the first late command: count them as a whole
            messages = block.generic
            if motion is not None:
                count, low, high = motion
                worst = worst_by[MOTION] = low - arrival
                self.margins.add_many(MOTION, worst, count)
                last_sched = max(last_sched, high)
        else:
            messages = block.messages
        for msg in messages:
            name = msg.name
            if name in NOTED_HERE:
                if name in NOTED:
                    self.inputs.note(name, msg.args)
                else:
                    self._note_watchdog(msg)
            sched = msg.sched
            if sched is None:
                continue
            margin = sched - arrival
            klass = msg.klass
            w = worst_by.get(klass)
            if w is None or margin < w:
                worst_by[klass] = margin
            add_margin(klass, margin)
            if margin < 0 and self.first_late is None:
                self.first_late = (msg, block.sent_ns, now_ns, block.tty_ns)
            if worst is None or margin < worst:
                worst = margin
            end = sched
            if name == "queue_step":     # its last step (sched is its first)
                a = msg.args
                n = a["count"]
                end = sched + (n - 1) * a["interval"] + a["add"] * (n * (n - 1) // 2)
            if end > last_sched and name != "trsync_set_timeout" and msg.klass != HEATER:
                # (trsync extensions go on while the trsync reports, heater
                # updates while a heater is on; they do not keep the print
                # alive)
                last_sched = end
        self.last_sched_clock = last_sched
        if worst is not None:
            self.margins.add_series(now_ns, worst)
            self.margins.note_block(now_ns, worst_by)

    def _note_watchdog(self, msg):
        """A digital out's max_duration, or the clock of its latest update
        (kept in the C struct, which the C arrival updates too)."""
        c, oid = self._c, msg.args["oid"]
        if msg.name == "config_digital_out" and msg.args["max_duration"]:
            self.max_durations[oid] = msg.args["max_duration"]
            c.watched[oid] = 1
        elif msg.name == "queue_digital_out" and oid in self.max_durations:
            c.has_update[oid] = msg.sched is not None
            if msg.sched is not None:
                c.last_update[oid] = msg.sched

    @property
    def last_update(self):
        """Digital out oid -> clock of its latest queue_digital_out taken
        (those with a max_duration)."""
        c = self._c
        return {oid: c.last_update[oid] for oid in sorted(self.max_durations)
                if c.has_update[oid]}

    def missed_update_oid(self):
        if self.shutdown is None:
            return None
        clock = self.shutdown[1]
        for oid, last in sorted(self.last_update.items()):
            if last + self.max_durations[oid] == clock:
                return oid
        return None

    # ---- MCU time and output -------------------------------------------------------
    def advance(self):
        """Run the firmware up to the present, sending what it writes."""
        self._advance(self.clock.clock(self.kernel.now))
        self._plan_wake()

    def _advance(self, target):
        """Run the firmware to clock `target` (an advance point: a block
        arrives, a wake-up, the end), sending what it writes on the way;
        stops for good at a shutdown."""
        fw = self.fw
        while self._shutdown is None:
            state = fw.run(target, STOPS)
            if state == RUN_REACHED:
                break
            self._on_stop(state)
        self._check_shutdown()
        self._plants_at_run_end(fw.now)

    def _on_stop(self, state):
        """The firmware stopped short of its target: it is about to
        sample a sensor whose value is stale (bring the plants to the
        last grid point due before it), or it wrote something (send it)."""
        if state == RUN_SAMPLE:
            self._replay_grid(self.fw.now - 1)
            self.thermals.settle()
            self._set_valid_until()
            return
        self._emit_pending()
        self._check_shutdown()

    def _plants_at_run_end(self, now):
        """A run reached its target, MCU clock `now`: the grid points up to
        there, and the arrival itself, are update points."""
        if self.thermals is not None:
            fwmcu.lib.fw_node_run_end(self._c, now)

    def _emit_pending(self):
        data = self.fw.read_output()
        if data:
            self._send_out(data, self.fw.now, self.kernel.now)

    def _send_out(self, data, clock, now_ns):
        """Bytes the firmware wrote at `clock` cross the MCU->host wire
        (host time now_ns): as a C event to the C output sink when it can
        (fw_node_send_out, the same wire and instant), else a Python event."""
        if self._fast and not self.faults.active and 0 < len(data) <= OUT_MAX:
            fwmcu.lib.fw_node_send_out(self._c, data, len(data), clock, now_ns)
            return
        written = max(self.clock.time_ns(clock), 0)
        arrival = max(self.wire_out.send(written, len(data)), now_ns)
        if self.faults.active:
            data = self.faults.apply(data)
        if data:
            self.kernel.schedule(arrival, partial(self.on_output, data))

    def _check_shutdown(self):
        if self._shutdown is None and self.fw.is_shutdown:
            now_clock = self.fw.now
            clock32 = self.fw.shutdown_clock
            clock = (now_clock & ~0xFFFFFFFF) | clock32
            if clock > now_clock:
                clock -= 1 << 32
            self.shutdown = (self.fw.shutdown_reason, clock)
            if self.on_shutdown is not None:
                self.on_shutdown()

    # ---- when to look at the MCU ------------------------------------------------------
    def _grid_after_ns(self, t_ns):
        """The first poll grid point after t_ns."""
        k = (t_ns - self._grid0) // self.poll_ns + 1
        return self._grid0 + max(k, 1) * self.poll_ns

    def _grid_reaching(self, clock):
        """The first poll grid point at which the MCU clock is >= clock."""
        return self._grid_after_ns(self.clock.time_ns(clock) - 1)

    def _plan_wake(self, quiet=None):
        """Wake at the first grid point at or after the earliest clock the
        firmware could transmit at (fw.quiet_until): where a poll would
        have found it. Nothing to wake for: no event."""
        kernel = self.kernel
        if quiet is None:
            quiet = self.fw.quiet_until
        # (_wake_event is None or pending: _wake and stop clear it, and
        # only this method cancels it)
        event = self._wake_event
        if quiet == self._planned_quiet and event is not None \
                and self._shutdown is None and not self._stopped:
            return     # same bound: the pending wake is a grid point >= now, still the first
        self._planned_quiet = quiet
        at = None
        if self._shutdown is None and not self._stopped and quiet != NEVER:
            at = max(self._grid_reaching(quiet), self._grid_after_ns(kernel.now - 1))
        if event is None or event.time != at:
            if event is not None:
                kernel.cancel(event)
            self._set_wake(at)

    def _wake(self):
        self._set_wake(None)
        self.wakes += 1
        self._advance(self.clock.clock(self.kernel.now))
        self._plan_wake()

    def _wake_rest(self, state, target):
        """_wake after the C wake event ran the firmware towards clock
        `target` and handed back at a stop `state` it left to Python (a
        shutdown, long output), or at the end of the run (RUN_REACHED)."""
        if state != RUN_REACHED:
            self._on_stop(state)
            self._advance(target)
        else:
            self._check_shutdown()
            self._plants_at_run_end(self.fw.now)
        self._plan_wake()

    # ---- the heaters' plants on the poll grid ---------------------------------------
    # (in C, fw_node.c: the node's C events do the same; node_c.py has the
    # state: _valid_until)
    def _replay_grid(self, upto):
        """The plant update points the poll grid points up to MCU clock
        `upto` made (each UPDATE_PERIOD, at the first point due): the same
        points as polling, marked when the firmware first needs them."""
        fwmcu.lib.fw_node_replay_grid(self._c, upto)

    def _set_valid_until(self):
        """The sensors' ADC values hold up to the next grid update point
        once they stand for the last update point; until then, up to that
        point (a later sample stops the firmware to settle them). A block
        arrival that updates them sets a new bound."""
        fwmcu.lib.fw_node_set_valid_until(self._c)

    def take_pulses(self):
        return self.fw.take_pulses()


CArrival._python_deliver = McuNode.deliver   # (a subclass delivering otherwise: no C)

__all__ = ["McuNode", "Margins", "fwmcu"]
