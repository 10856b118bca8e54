"""Mutations of klipsim's bundled inputs for the fuzz test, and one
bounded CLI run.

`mutate_text(draw, text)` edits a few lines of a text input (a G-code
file, a printer.cfg, a parsedump stream, a TOML file): a token replaced
by an odd value, a line deleted, duplicated, cut or swapped, characters
inserted.  `mutate_bytes(draw, data)` flips, cuts or inserts bytes of a
binary input.  `run_cli(args, timeout_s)` runs the `klipsim` command
through click's CliRunner with a wall-clock bound (SIGALRM: the fuzz test
runs in pytest's main thread) and a memory bound (RLIMIT_DATA: a run may
grow the process by MEMORY_BOUND bytes; past that it gets MemoryError,
counted as a crash), and returns a `Run` with the exit code, the output
and whether it hung or raised.
"""
import os
import re
import resource
import signal
import subprocess
import sys
from dataclasses import dataclass

from click.testing import CliRunner
from hypothesis import strategies as st

from klipsim.cli import main

ODD_VALUES = ["0", "-1", "1", "1e9", "-1e9", "nan", "inf", "-inf", "1e308", "1e-300",
              "4294967296", "65536", "256", "", "abc", "0x10", "1:0", "=", "\x00", "é",
              "[x]", "{", "}", '"', "1.2.3", "-0", "99999999999999999999"]
ODD_LINES = ["", "[", "[printer", "G1", "G1 X", "M109 S", "SET_VELOCITY_LIMIT",
             "{% if %}", "queue_step", "oid=", "=1", "[[spike]]", "\t", "\ufeff"]
_TOKEN = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|[A-Za-z_]+", re.I)


class FuzzTimeout(Exception):
    """A run took longer than its bound (a hang)."""


def mutate_text(draw, text, edits=st.integers(1, 3)):
    lines = text.split("\n")
    for _ in range(draw(edits)):
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        op = draw(st.sampled_from(["token", "token", "token", "delete", "duplicate",
                                   "cut", "swap", "insert", "chars"]))
        line = lines[i] if lines else ""
        if op == "token":
            tokens = list(_TOKEN.finditer(line))
            if tokens:
                m = draw(st.sampled_from(tokens))
                line = line[:m.start()] + draw(st.sampled_from(ODD_VALUES)) + line[m.end():]
            lines[i:i + 1] = [line]
        elif op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, line)
        elif op == "cut":
            lines[i:i + 1] = [line[:draw(st.integers(0, len(line)))]]
        elif op == "swap" and lines:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(ODD_LINES)))
        else:
            pos = draw(st.integers(0, len(line)))
            lines[i:i + 1] = [line[:pos] + draw(st.text(max_size=4)) + line[pos:]]
    return "\n".join(lines)


def mutate_bytes(draw, data):
    data = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["flip", "flip", "cut", "insert"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    hung: bool

    @property
    def traceback(self):
        """A Python traceback reached the user, or the command raised."""
        crashed = self.exception is not None and not isinstance(self.exception, SystemExit)
        return crashed or "Traceback" in self.stderr or "Traceback" in self.stdout


MEMORY_BOUND = 2 << 30       # no valid fuzz input needs 2 GiB more


def _alarm(signum, frame):
    raise FuzzTimeout()


def _data_bytes():
    """The process's data segment now (VmData, bytes)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def run_cli(args, timeout_s, input=None):
    if os.environ.get("FUZZ_SUBPROCESS"):
        return _run_subprocess(args, timeout_s, input)
    previous = signal.signal(signal.SIGALRM, _alarm)
    limits = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (_data_bytes() + MEMORY_BOUND, limits[1]))
    signal.setitimer(signal.ITIMER_REAL, timeout_s)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_DATA, limits)
    hung = isinstance(result.exception, FuzzTimeout)
    return Run(result.exit_code, result.stdout, result.stderr,
               None if hung else result.exception, hung)


def _run_subprocess(args, timeout_s, input):
    """run_cli in a child process (FUZZ_SUBPROCESS=1, for long hunts: a
    crash or a runaway allocation then ends the child, not pytest)."""
    def bound():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    try:
        p = subprocess.run([sys.executable, "-m", "klipsim.cli"] + [str(a) for a in args],
                           input=input, capture_output=True, timeout=timeout_s,
                           preexec_fn=bound)
    except subprocess.TimeoutExpired:
        return Run(-1, "", "", None, True)
    err = p.stderr.decode("utf-8", "replace")
    crash = None if p.returncode >= 0 else RuntimeError("signal %d" % -p.returncode)
    return Run(p.returncode, p.stdout.decode("utf-8", "replace"), err, crash, False)
