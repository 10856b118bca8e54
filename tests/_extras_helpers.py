"""Helpers for the tests of host extras: build a printer from config text
on the reference 'cartesian' printer (atmega2560, 16 MHz), run G-code
text through it, and read back the MCU lines and the toolhead moves."""
import io
import os

from klipsim.chelper.msgproto import load_dictionary
from klipsim.chelper.streamio import StreamWriter
from klipsim.gcode.dispatch import Dispatcher
from klipsim.gcode.reader import read_lines
from klipsim.golden import reference
from klipsim.host.configfile import load_config
from klipsim.host.printer import Printer
from klipsim.host.reactor import BatchReactor
from klipsim.sim.compile.batch import BatchClock, StreamLink

BASE_CASE = "retract_exclude"      # cartesian + firmware_retraction + exclude_object


def base_config_text():
    case = reference.case(BASE_CASE)
    with open(case.config) as f:
        return f.read()


def dictionary():
    return load_dictionary(reference.case(BASE_CASE).dictionary)


class Run:
    """A printer built from `config_text` with every message kept."""

    def __init__(self, tmp_path, config_text):
        path = os.path.join(str(tmp_path), "printer.cfg")
        with open(path, "w") as f:
            f.write(config_text)
        self.dictionary = dictionary()
        self.freq = self.dictionary.clock_freq
        self.out = io.StringIO()
        self.messages = []          # (text, stream) from the dispatcher
        writer = StreamWriter(self.out, "text", self.dictionary)
        self.writer = writer
        self.dispatcher = Dispatcher(
            warning_sink=lambda t: self.messages.append(("warning", t)),
            error_sink=lambda t: self.messages.append(("error", t)),
            info_sink=lambda t: self.messages.append(("info", t)))
        config = load_config(path)
        self.printer = Printer(config, {"mcu": self.dictionary}, StreamLink(writer),
                               BatchClock(), BatchReactor(), self.dispatcher)
        config.check_unused()
        self.printer.connect()
        self.moves = []             # (x, y, z, e, speed) given to the toolhead
        toolhead = self.printer.toolhead
        original = toolhead.move

        def recording_move(newpos, speed):
            self.moves.append(tuple(newpos[:4]) + (speed,))
            original(newpos, speed)
        toolhead.move = recording_move

    def run(self, gcode_text, source="test.gcode"):
        self.dispatcher.run_commands(read_lines(gcode_text, source))
        self.printer.reactor.run_due_timers()

    def finish(self):
        """End the run as the compiler does; `end_time` is the print time
        Klipper logs at exit (checked against it in test_compile_reference)."""
        self.end_time = self.printer.finish()
        self.writer.close()
        return self.lines()

    def lines(self):
        return self.out.getvalue().splitlines()

    def errors(self):
        return [t for kind, t in self.messages if kind == "error"]

    def oid_of_pin(self, pin):
        for line in self.lines():
            if line.startswith("config_digital_out") and (" pin=%s " % pin) in line:
                return int(line.split("oid=")[1].split()[0])
            if line.startswith("config_pwm_out") and (" pin=%s " % pin) in line:
                return int(line.split("oid=")[1].split()[0])
        raise KeyError(pin)

    def outputs(self, oid, name="queue_digital_out"):
        """[(clock, value)] of the queue_*_out lines of one oid, in order."""
        found = []
        for line in self.lines():
            if line.startswith(name + " ") and (" oid=%d " % oid) in line + " ":
                fields = dict(f.split("=") for f in line.split()[1:])
                value = fields.get("on_ticks", fields.get("value"))
                found.append((int(fields["clock"]), int(value)))
        return found
