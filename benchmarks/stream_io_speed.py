"""Speed of the stream text and serial paths (chelper/msgproto, streamio).

Prints lines/s for parsedump text parsing and formatting, for serial
encoding (StreamWriter) and decoding (read_stream), on a reference case
(default corexy_print_cylinder, 303 k lines), plus the ratio of each time
to the CPU normaliser, timed before and after the measurements in the
same run (their mean; the machine is shared and its load changes).

Usage: python benchmarks/stream_io_speed.py [case]
"""
import io
import os
import sys
import tempfile
import time

from klipsim.chelper import msgproto, streamio
from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _normalizer import normalizer_seconds, report  # noqa: E402


def timed(figures, label, count, function):
    start = time.perf_counter()
    result = function()
    figures.append((label, time.perf_counter() - start, (count, "line")))
    return result


def measure(case, figures):
    dictionary = msgproto.Dictionary.load(case.dictionary)
    with reference.open_text(case.klipper_output) as f:
        lines = f.readlines()
    n = len(lines)
    parse, fmt = dictionary.parse_text, dictionary.format_text

    # streaming use: each result is dropped (collecting 300 k dicts in a
    # list would time Python's cyclic garbage collector instead)
    def parse_all():
        for line in lines:
            parse(line)

    def format_all():
        for name, args in messages:
            fmt(name, args)

    timed(figures, "parse_text", n, parse_all)
    messages = [parse(line) for line in lines]
    timed(figures, "format_text", n, format_all)
    outputs = {}
    for kind in ("text", "serial", "jsonl"):
        def write():
            out = io.BytesIO()
            writer = streamio.StreamWriter(out, kind, dictionary)
            for name, args in messages:
                writer.write(name, args)
            writer.close()
            return out.getvalue()
        outputs[kind] = timed(figures, "StreamWriter %s" % kind, n, write)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stream.bin")
        with open(path, "wb") as f:
            f.write(outputs["serial"])
        timed(figures, "read_stream serial", n,
              lambda: sum(1 for _ in streamio.read_stream(path, dictionary)))
    timed(figures, "read_stream text (gzip)", n,
          lambda: sum(1 for _ in streamio.read_stream(case.klipper_output, dictionary)))
    return n


def main():
    case = reference.case(sys.argv[1] if len(sys.argv) > 1 else "corexy_print_cylinder")
    before = normalizer_seconds()
    figures = []
    n = measure(case, figures)
    after = normalizer_seconds()
    norm = (before + after) / 2 if before and after else None
    print("case %s: %d lines; %s" % (case.name, n, "normaliser %.3f s / %.3f s (before/after)"
                                    % (before, after) if norm else "no normaliser"))
    for label, seconds, units in figures:
        report(label, seconds, norm, units)


if __name__ == "__main__":
    main()
