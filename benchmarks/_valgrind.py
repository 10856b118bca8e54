"""Shared helper for benchmarks: instructions a command executes, counted
by valgrind (cachegrind without cache simulation). Unlike CPU seconds
the count barely moves when the machine is shared; address-space
randomisation is off (setarch -R) and PYTHONHASHSEED fixed, so repeated
runs agree to about 1 %."""
import os
import re
import shutil
import subprocess


def have_valgrind():
    return shutil.which("valgrind") is not None


def instructions(argv):
    """Instructions ("I refs") of one run of `argv` under valgrind."""
    cmd = ["valgrind", "--tool=cachegrind", "--cache-sim=no",
           "--cachegrind-out-file=/dev/null"] + list(argv)
    if shutil.which("setarch"):
        cmd = ["setarch", os.uname().machine, "-R"] + cmd
    env = dict(os.environ, PYTHONHASHSEED="0")
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr
    match = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if match is None:
        raise SystemExit("no instruction count in valgrind's output:\n" + out[-2000:])
    return int(match.group(1).replace(",", ""))
