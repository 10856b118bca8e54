"""Errors raised while reading or running G-code.

Contract: every user-facing G-code problem is a `GCodeError` whose str() is
one line, `file:line: message` when the place is known, else `message`.
"""


class GCodeError(Exception):
    """A G-code command could not be read or executed (Klipper: CommandError).

    The run goes on after one of these (as Klipper's G-code dispatcher does);
    the dispatcher counts them.
    """

    def __init__(self, message, source=None, lineno=None):
        super().__init__(message)
        self.message = message
        self.source = source
        self.lineno = lineno

    @property
    def location(self):
        if self.source is None:
            return None
        if self.lineno is None:
            return str(self.source)
        return "%s:%d" % (self.source, self.lineno)

    def located(self, source, lineno):
        """This error with a place attached, unless it already has one."""
        if self.source is not None:
            return self
        return GCodeError(self.message, source, lineno)

    def __str__(self):
        where = self.location
        return self.message if where is None else "%s: %s" % (where, self.message)


class GCodeInternalError(Exception):
    """A handler failed with something other than a GCodeError: a bug in
    klipsim (Klipper shuts down on these). str() is one line naming the
    place and the command; the original exception is the __cause__."""
