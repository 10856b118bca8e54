"""Shared helper for benchmarks: time the project's CPU normaliser in the
same run, so figures can be quoted as ratios on a noisy shared machine.
Without /work/shared the ratio is skipped (returns None)."""
import os
import subprocess
import sys
import time

# ../shared beside the repository (as in CI and the developers' checkouts).
NORMALIZER = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "..", "..", "shared", "bench", "normalizer.py")


def normalizer_seconds():
    """Wall seconds of one normaliser run, or None when it is absent."""
    if not os.path.exists(NORMALIZER):
        return None
    start = time.perf_counter()
    subprocess.run([sys.executable, NORMALIZER], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def report(label, seconds, norm, units=None):
    """Print one figure: seconds, optional rate, and the normaliser ratio."""
    text = "%-34s %8.3f s" % (label, seconds)
    if units is not None:
        count, unit = units
        text += "  %12.0f %s/s  %6.3f us/%s" % (count / seconds, unit,
                                               seconds / count * 1e6, unit)
    if norm:
        text += "  ratio to normaliser %.3f" % (seconds / norm)
    print(text)
