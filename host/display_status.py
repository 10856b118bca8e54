"""Messages to the user: [display_status] (M117, M73, SET_DISPLAY_TEXT)
and [respond] (M118, RESPOND) (docs/G-Codes.md, docs/Config_Reference.md).

Contract: `load_display_status(printer, section)` and
`load_respond(printer, section)`. Offline there is no display and no
front end: messages go to the dispatcher's info sink (the compile log)
and nothing reaches the MCU stream. `get_status()` of display_status
gives `progress` (M73 P, 0..1) and `message` (M117 / SET_DISPLAY_TEXT),
which macros read as printer.display_status.
"""

RESPOND_TYPES = {"echo": "echo: ", "command": "// ", "error": "!! "}


class DisplayStatus:
    def __init__(self, dispatcher):
        self.dispatcher = dispatcher
        self.progress = None      # M73 P value, 0..1
        self.message = None
        dispatcher.register("M117", self.cmd_M117, "Set the display message")
        dispatcher.register("M73", self.cmd_M73, "Set the print progress")
        dispatcher.register("SET_DISPLAY_TEXT", self.cmd_SET_DISPLAY_TEXT,
                            "Set or clear the display message")

    def get_status(self):
        return {"progress": self.progress or 0., "message": self.message}

    def _set_message(self, text):
        self.message = text or None
        if text:
            self.dispatcher.info("display: %s" % (text,))

    def cmd_M117(self, cmd):
        self._set_message(cmd.raw_params.strip())

    def cmd_SET_DISPLAY_TEXT(self, cmd):
        self._set_message(cmd.get("MSG", None))

    def cmd_M73(self, cmd):
        percent = cmd.get_float("P", None)
        if percent is not None:
            self.progress = min(100., max(0., percent)) / 100.


class Respond:
    def __init__(self, dispatcher, default_type, default_prefix):
        self.dispatcher = dispatcher
        self.default_type = default_type
        self.default_prefix = default_prefix
        dispatcher.register("M118", self.cmd_M118, "Echo a message")
        dispatcher.register("RESPOND", self.cmd_RESPOND, "Echo a message with a prefix")

    def cmd_M118(self, cmd):
        self.dispatcher.info("%s %s" % (self.default_prefix.rstrip(), cmd.raw_params))

    def cmd_RESPOND(self, cmd):
        kind = cmd.get("TYPE", None)
        prefix = self.default_prefix
        if kind is not None:
            kind = kind.lower()
            if kind not in RESPOND_TYPES:
                raise cmd.error("RESPOND TYPE '%s' is invalid. Must be one of 'echo',"
                                " 'command', or 'error'" % (kind,))
            prefix = RESPOND_TYPES[kind]
        prefix = cmd.get("PREFIX", prefix)
        self.dispatcher.info("%s %s" % (prefix.rstrip(), cmd.get("MSG", "")))


def load_display_status(printer, section):
    printer.config.section(section.name)   # a section without options
    return DisplayStatus(printer.dispatcher)


def load_respond(printer, section):
    default_type = section.getchoice("default_type", sorted(RESPOND_TYPES), "echo")
    prefix = section.get("default_prefix", RESPOND_TYPES[default_type])
    return Respond(printer.dispatcher, default_type, prefix)
