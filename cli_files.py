"""Files of the `klipsim` commands: `-` for stdin/stdout, atomic outputs,
the exit codes.

Contract:
- `Outputs` (a context manager) opens every output file of one command
  run: `-` is stdout; a path is written to a temporary file in the same
  directory, renamed over the path when the run ends well and removed
  when it fails (an exception), so a failed run never leaves an empty or
  partial file that looks like a result.  A missing output directory is
  one error line, raised by `check` before any work starts.
- `Inputs` turns an input argument of `-` into a temporary copy of stdin
  (the readers need a seekable file with a name) and `user_text` puts
  `<stdin>` back where a message names that copy.
- EXIT_* are the exit codes every command uses (README "Exit codes").
"""
import os
import sys

import click

EXIT_OK = 0          # the run went through
EXIT_INPUT = 1       # an error in an input (file, config, stream) or G-code errors
EXIT_USAGE = 2       # bad command line (click's own code for usage errors)
EXIT_SHUTDOWN = 3    # the simulated MCU shut down

STDIO = "-"
GZIP_MAGIC = b"\x1f\x8b"


# mkstemp's flags: a new file, ours alone, not inherited by children
_PART_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _part_file(folder, prefix, suffix):
    """(fd, path) of a new file `prefix`NAME`suffix` in `folder`, with the
    mode open() gives a new file (the umask applies), so it needs no chmod
    when it replaces the output.  Not tempfile.mkstemp: tempfile (and the
    random module behind its names) would be imported for this, which
    every compile would pay at start-up (issue 10); the name is unique by
    process id and a counter."""
    for attempt in range(1 << 16):
        path = os.path.join(folder, "%s%d-%d%s" % (prefix, os.getpid(), attempt, suffix))
        try:
            return os.open(path, _PART_FLAGS, 0o666), path
        except FileExistsError:
            continue
    raise FileExistsError("no free temporary name %s*%s in %s" % (prefix, suffix, folder))


class Outputs:
    """Output files of one run, committed together at the end."""

    def __init__(self):
        self._open = []           # (file object, temporary path, final path)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        ok = kind is None or (kind is SystemExit and not _failed_exit(value))
        for f, tmp, final in self._open:
            if f is not None and not f.closed:
                f.close()
            if ok:
                os.replace(tmp, final)
            elif os.path.exists(tmp):
                os.unlink(tmp)
        self._open = []
        return False

    @staticmethod
    def check(*paths):
        """One error line for an output whose directory does not exist
        (call before the work starts)."""
        for path in paths:
            if path and path != STDIO:
                folder = os.path.dirname(os.path.abspath(path)) or "."
                if not os.path.isdir(folder):
                    raise click.ClickException("cannot write %s: no such directory %s"
                                               % (path, folder))
                if os.path.isdir(path):
                    raise click.ClickException("cannot write %s: it is a directory" % path)

    def open(self, path, binary=False):
        """A file object for `path` (stdout for `-`)."""
        if path == STDIO:
            return sys.stdout.buffer if binary else sys.stdout
        self.check(path)
        folder, base = os.path.split(os.path.abspath(path))
        fd, tmp = _part_file(folder, "." + base + ".", ".part")
        f = os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"newline": "\n"}))
        self._open.append((f, tmp, path))
        return f

    def path(self, path):
        """A temporary path to write `path` through (for writers that
        take a file name, such as matplotlib's savefig)."""
        self.check(path)
        folder, base = os.path.split(os.path.abspath(path))
        root, ext = os.path.splitext(base)
        fd, tmp = _part_file(folder, "." + root + ".", ".part" + ext)
        os.close(fd)
        self._open.append((None, tmp, path))
        return tmp


def _failed_exit(value):
    """A sys.exit that means the outputs are not a result: a usage error
    (G-code errors and MCU shutdowns still give complete outputs)."""
    return value.code not in (None, EXIT_OK, EXIT_INPUT, EXIT_SHUTDOWN)


class Inputs:
    """Input arguments, `-` read from stdin into a temporary file."""

    def __init__(self):
        self._tmp = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._tmp is not None:
            import shutil   # only with stdin as input (start-up, issue 10)
            shutil.rmtree(self._tmp, ignore_errors=True)
        return False

    def path(self, path, suffix=""):
        """A path to read `path` from (a copy of stdin for `-`)."""
        if path != STDIO:
            return path
        if self._tmp is not None:
            raise click.UsageError("only one input can be '-' (stdin)")
        import shutil       # only with stdin as input (start-up, issue 10)
        import tempfile
        self._tmp = tempfile.mkdtemp(prefix="klipsim-stdin-")
        head = sys.stdin.buffer.read(1 << 16)
        if head[:2] == GZIP_MAGIC:    # G-code readers go by the name: keep it gzip
            suffix += ".gz"
        copy = os.path.join(self._tmp, "stdin" + suffix)
        with open(copy, "wb") as f:
            f.write(head)
            shutil.copyfileobj(sys.stdin.buffer, f)
        return copy

    def user_text(self, text):
        """A message with the stdin copy's path shown as `<stdin>`."""
        if self._tmp is None:
            return text
        return text.replace(os.path.join(self._tmp, "stdin"), "<stdin>")
