"""[firmware_retraction]: G10 retracts, G11 unretracts, SET_RETRACTION and
GET_RETRACTION change and report the settings (docs/Config_Reference.md
and docs/G-Codes.md, [firmware_retraction]).

Contract: `load_firmware_retraction(printer, section)`; `get_status()`
gives the four settings for macros.

As in Klipper, G10/G11 run a small G-code script through the dispatcher:
save the G-code state, G91, `G1 E-<length> F<speed*60>`, restore the state.
So the retraction is an ordinary extrude-only move (scaled by M221, passed
through [exclude_object]), the feed rate is the speed in mm/min truncated
to an integer and the length is written with 5 decimals. A second G10
without a G11 in between (or G11 without G10) does nothing;
SET_RETRACTION forgets whether the filament is retracted.
"""

STATE_NAME = "_retract_state"


class FirmwareRetraction:
    def __init__(self, section, dispatcher):
        self.dispatcher = dispatcher
        self.retract_length = section.getfloat("retract_length", 0., minval=0.)
        self.retract_speed = section.getfloat("retract_speed", 20., minval=1.)
        self.unretract_extra_length = section.getfloat("unretract_extra_length", 0., minval=0.)
        self.unretract_speed = section.getfloat("unretract_speed", 10., minval=1.)
        self.is_retracted = False
        for name, handler in (("G10", self.cmd_G10), ("G11", self.cmd_G11),
                              ("SET_RETRACTION", self.cmd_SET_RETRACTION),
                              ("GET_RETRACTION", self.cmd_GET_RETRACTION)):
            dispatcher.register(name, handler)

    @property
    def unretract_length(self):
        return self.retract_length + self.unretract_extra_length

    def get_status(self):
        return {"retract_length": self.retract_length,
                "retract_speed": self.retract_speed,
                "unretract_extra_length": self.unretract_extra_length,
                "unretract_speed": self.unretract_speed}

    def _run_extrude(self, cmd, distance_text, speed):
        script = ("SAVE_GCODE_STATE NAME=%s\nG91\nG1 E%s F%d\nRESTORE_GCODE_STATE NAME=%s"
                  % (STATE_NAME, distance_text, int(speed * 60.), STATE_NAME))
        self.dispatcher.run_script(script, "%s: %s" % (cmd.location, cmd.name))

    def cmd_G10(self, cmd):
        if not self.is_retracted:
            self._run_extrude(cmd, "-%.5f" % (self.retract_length,), self.retract_speed)
            self.is_retracted = True

    def cmd_G11(self, cmd):
        if self.is_retracted:
            self._run_extrude(cmd, "%.5f" % (self.unretract_length,), self.unretract_speed)
            self.is_retracted = False

    def cmd_SET_RETRACTION(self, cmd):
        self.retract_length = cmd.get_float("RETRACT_LENGTH", self.retract_length, minval=0.)
        self.retract_speed = cmd.get_float("RETRACT_SPEED", self.retract_speed, minval=1.)
        self.unretract_extra_length = cmd.get_float(
            "UNRETRACT_EXTRA_LENGTH", self.unretract_extra_length, minval=0.)
        self.unretract_speed = cmd.get_float("UNRETRACT_SPEED", self.unretract_speed, minval=1.)
        self.is_retracted = False

    def cmd_GET_RETRACTION(self, cmd):
        self.dispatcher.info("RETRACT_LENGTH=%.5f RETRACT_SPEED=%.5f"
                             " UNRETRACT_EXTRA_LENGTH=%.5f UNRETRACT_SPEED=%.5f"
                             % (self.retract_length, self.retract_speed,
                                self.unretract_extra_length, self.unretract_speed))


def load_firmware_retraction(printer, section):
    printer.config.section(section.name)   # all options are optional
    return FirmwareRetraction(section, printer.dispatcher)
