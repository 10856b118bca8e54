"""Speed of the stream text and serial paths (chelper/msgproto, streamio).

Prints lines/s for parsedump text parsing and formatting, for serial
encoding (StreamWriter) and decoding (read_stream), on a reference case
(default corexy_print_cylinder, 303 k lines), plus the ratio of each time
to the CPU normaliser timed in the same run.

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


def main():
    case = reference.case(sys.argv[1] if len(sys.argv) > 1 else "corexy_print_cylinder")
    dictionary = msgproto.Dictionary.load(case.dictionary)
    with reference.open_text(case.klipper_output) as f:
        lines = f.readlines()
    n = len(lines)
    norm = normalizer_seconds()
    print("case %s: %d lines%s" % (case.name, n,
          ", normaliser %.3f s" % norm if norm else ", no normaliser"))

    start = time.perf_counter()
    parse = dictionary.parse_text
    for line in lines:
        parse(line)
    report("parse_text", time.perf_counter() - start, norm, (n, "line"))

    messages = [parse(line) for line in lines]
    start = time.perf_counter()
    fmt = dictionary.format_text
    for name, args in messages:
        fmt(name, args)
    report("format_text", time.perf_counter() - start, norm, (n, "line"))

    for kind in ("text", "serial", "jsonl"):
        out = io.BytesIO()
        start = time.perf_counter()
        writer = streamio.StreamWriter(out, kind, dictionary)
        for name, args in messages:
            writer.write(name, args)
        writer.close()
        report("StreamWriter %s" % kind, time.perf_counter() - start, norm, (n, "line"))
        if kind == "serial":
            serial = out.getvalue()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "stream.bin")
        with open(path, "wb") as f:
            f.write(serial)
        start = time.perf_counter()
        count = sum(1 for _ in streamio.read_stream(path, dictionary))
        report("read_stream serial", time.perf_counter() - start, norm, (count, "line"))
    start = time.perf_counter()
    count = sum(1 for _ in streamio.read_stream(case.klipper_output, dictionary))
    report("read_stream text (gzip)", time.perf_counter() - start, norm, (count, "line"))


if __name__ == "__main__":
    main()
