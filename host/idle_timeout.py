"""The idle timeout (docs/Config_Reference.md [idle_timeout], always
loaded in Klipper): its `timeout` and SET_IDLE_TIMEOUT [TIMEOUT=]
(docs/G-Codes.md), which changes it and answers with an info line.

Offline the timeout never fires: compile runs in batch time, where the
reactor's clock stands still, and simulate runs are shorter than the
default 600 s of idle time it waits for. So only the value is kept.
"""
DEFAULT_TIMEOUT = 600.


class IdleTimeout:
    def __init__(self, dispatcher, timeout):
        self.dispatcher = dispatcher
        self.timeout = timeout
        dispatcher.register("SET_IDLE_TIMEOUT", self.cmd_SET_IDLE_TIMEOUT,
                            "Set the idle timeout in seconds")

    def cmd_SET_IDLE_TIMEOUT(self, cmd):
        self.timeout = cmd.get_float("TIMEOUT", self.timeout, above=0.)
        self.dispatcher.info("idle_timeout: Timeout set to %.2f s" % (self.timeout,))


def load(printer):
    timeout = DEFAULT_TIMEOUT
    if printer.config.has_section("idle_timeout"):
        timeout = printer.config.section("idle_timeout").getfloat(
            "timeout", DEFAULT_TIMEOUT, above=0.)
    return IdleTimeout(printer.dispatcher, timeout)
