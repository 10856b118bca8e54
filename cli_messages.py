"""G-code errors and warnings of a `klipsim` run, on stderr.

Contract: `Messages(quiet)` is the error and warning sink of a run.
Errors (a bad G-code line: Klipper reports it and goes on) are printed
each on its own line, up to MAX_ERROR_LINES, all counted.  Warnings are
printed once per kind (the text after its `file:line: `), with the
number of further ones of that kind at the end (`finish`), so a slicer
file with 7 000 unknown commands gives a line per command name.  With
`quiet` only the counts are printed (`finish`), never nothing when there
was something to say.
"""
import re

import click

MAX_ERROR_LINES = 20
_PLACE = re.compile(r"^(.*?:\d+: )")


def kind_of(text):
    """The warning without its leading `file:line: `."""
    m = _PLACE.match(text)
    return text[m.end():] if m else text


class Messages:
    def __init__(self, quiet=False):
        self.quiet = quiet
        self.errors = 0
        self.warnings = 0
        self.kinds = {}          # kind -> [first text, count], in order of first sight

    def error(self, text):
        self.errors += 1
        if not self.quiet and self.errors <= MAX_ERROR_LINES:
            click.echo("G-code error: %s" % text, err=True)

    def warn(self, text):
        self.warnings += 1
        kind = kind_of(text)
        seen = self.kinds.get(kind)
        if seen is None:
            self.kinds[kind] = [text, 1]
            if not self.quiet:
                click.echo("warning: %s" % text, err=True)
        else:
            seen[1] += 1

    def finish(self):
        """The repeat counts, the errors not shown, and (quiet) the totals."""
        if not self.quiet:
            for text, count in self.kinds.values():
                if count > 1:
                    click.echo("warning: %s (and %d more like it)" % (text, count - 1),
                               err=True)
            if self.errors > MAX_ERROR_LINES:
                click.echo("G-code error: ... %d more" % (self.errors - MAX_ERROR_LINES),
                           err=True)
        elif self.errors or self.warnings:
            click.echo("G-code errors: %d, warnings: %d (%d kinds)"
                       % (self.errors, self.warnings, len(self.kinds)), err=True)
