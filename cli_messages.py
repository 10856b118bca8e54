"""G-code errors and warnings of a `klipsim` run, on stderr.

Contract: `Messages(quiet)` is the error and warning sink of a run.
Errors (a bad G-code line: Klipper reports it and goes on) are printed
each on its own line, up to MAX_ERROR_LINES, all counted.  Warnings are
printed as the dispatcher passes them on: a warning that can repeat (an
unknown command) once per kind, then its count at the end
(gcode.dispatch `notice`/`report_repeats`), so a slicer file with 7 000
unknown commands gives a line per command name.  With `quiet` only the
counts are printed (`finish`), never nothing when there was something to
say.
"""
import click

MAX_ERROR_LINES = 20


class Messages:
    def __init__(self, quiet=False):
        self.quiet = quiet
        self.errors = 0

    def error(self, text):
        self.errors += 1
        if not self.quiet and self.errors <= MAX_ERROR_LINES:
            click.echo("G-code error: %s" % text, err=True)

    def warn(self, text):
        if not self.quiet:
            click.echo("warning: %s" % text, err=True)

    def finish(self, warnings):
        """The errors not shown, or (quiet) the counts; `warnings` is the
        run's count, repeats included."""
        if not self.quiet:
            if self.errors > MAX_ERROR_LINES:
                click.echo("G-code error: ... %d more" % (self.errors - MAX_ERROR_LINES),
                           err=True)
        elif self.errors or warnings:
            click.echo("G-code errors: %d, warnings: %d" % (self.errors, warnings), err=True)
