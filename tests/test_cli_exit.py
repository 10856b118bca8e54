"""The `klipsim` program (cli.run) leaves without the interpreter's
teardown when it can: the exit code and everything written to stdout and
stderr must be as with an ordinary exit, and the ordinary exit must be
taken whenever the teardown has work to do (another thread, an exit
handler, a message as exit code) or a profiler reports after the program."""
import atexit
import os
import subprocess
import sys
import threading

import pytest

from klipsim import cli

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(cli.__file__)), "examples",
                       "example.gcode")


def klipsim(*args):
    return subprocess.run([sys.executable, "-m", "klipsim.cli"] + list(args),
                          capture_output=True)


def test_stream_on_stdout_is_complete(tmp_path):
    """A pipe's buffered output is flushed before the quick exit."""
    out = tmp_path / "out.txt"
    to_file = klipsim("compile", EXAMPLE, "-o", str(out), "--quiet")
    to_pipe = klipsim("compile", EXAMPLE)
    assert to_file.returncode == to_pipe.returncode == 0
    assert to_pipe.stdout == out.read_bytes() and len(to_pipe.stdout) > 10000
    assert b"compiled: print time" in to_pipe.stderr


def test_usage_error_keeps_its_code_and_message(tmp_path):
    result = klipsim("compile", str(tmp_path / "missing.gcode"))
    assert result.returncode == 2
    assert b"does not exist" in result.stderr


def run_with(monkeypatch, code, callbacks=0, threads=1):
    """cli.run() with main() exiting with `code`, `callbacks` exit
    handlers registered and `threads` threads alive: the quick exit's
    code, or the SystemExit left to the interpreter."""
    def main():
        raise SystemExit(code)
    exits = []
    monkeypatch.setattr(cli, "main", main)
    monkeypatch.setattr(cli.os, "_exit", exits.append)
    monkeypatch.setattr(cli.atexit, "_ncallbacks", lambda: callbacks)
    monkeypatch.setattr(cli.threading, "active_count", lambda: threads)
    try:
        cli.run()
    except SystemExit as done:
        return "ordinary", done.code
    return "quick", exits[0]


def test_quick_exit_codes(monkeypatch):
    assert run_with(monkeypatch, None) == ("quick", 0)
    assert run_with(monkeypatch, 3) == ("quick", 3)


def test_ordinary_exit_when_teardown_has_work(monkeypatch):
    assert run_with(monkeypatch, "boom") == ("ordinary", "boom")
    assert run_with(monkeypatch, 0, callbacks=1) == ("ordinary", 0)
    assert run_with(monkeypatch, 0, threads=2) == ("ordinary", 0)


def test_a_real_exit_handler_and_thread_are_seen():
    """What run() asks is what the interpreter knows."""
    before = atexit._ncallbacks()
    handler = lambda: None  # noqa: E731
    atexit.register(handler)
    try:
        assert atexit._ncallbacks() == before + 1
    finally:
        atexit.unregister(handler)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    count = threading.active_count()
    worker.start()
    try:
        assert threading.active_count() == count + 1
    finally:
        stop.set()
        worker.join()


def test_a_profiler_still_reports(tmp_path):
    """`python -m cProfile -m klipsim.cli ...` prints its table after the
    program returns: the quick exit must not cut it off."""
    out = tmp_path / "out.txt"
    result = subprocess.run([sys.executable, "-m", "cProfile", "-m", "klipsim.cli", "compile",
                             EXAMPLE, "-o", str(out), "--quiet"], capture_output=True)
    assert result.returncode == 0
    assert b"function calls" in result.stdout and out.stat().st_size > 10000


def test_other_errors_propagate(monkeypatch):
    def main():
        raise RuntimeError("bug")
    monkeypatch.setattr(cli, "main", main)
    with pytest.raises(RuntimeError):
        cli.run()
