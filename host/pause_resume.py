"""[pause_resume]: PAUSE, RESUME, CLEAR_PAUSE, CANCEL_PRINT
(docs/G-Codes.md [pause_resume]).

Contract: `load_pause_resume(printer, section)`; `get_status()` gives
{'is_paused': bool} (printer.pause_resume.is_paused in macros).

Offline, as in Klipper's batch mode, nothing stops the input: PAUSE
saves the G-code state (SAVE_GCODE_STATE NAME=PAUSE_STATE) and notes the
pause, and the following G-code still runs; RESUME restores that state
and moves back to the saved position (RESTORE_GCODE_STATE ... MOVE=1) at
VELOCITY (default recover_velocity, 50 mm/s), which does produce motion.
A PAUSE while paused or a RESUME while not paused only logs a message.
"""

STATE_NAME = "PAUSE_STATE"


class PauseResume:
    def __init__(self, dispatcher, recover_velocity):
        self.dispatcher = dispatcher
        self.recover_velocity = recover_velocity
        self.is_paused = False
        for name, handler in (("PAUSE", self.cmd_PAUSE), ("RESUME", self.cmd_RESUME),
                              ("CLEAR_PAUSE", self.cmd_CLEAR_PAUSE),
                              ("CANCEL_PRINT", self.cmd_CANCEL_PRINT)):
            dispatcher.register(name, handler)

    def get_status(self):
        return {"is_paused": self.is_paused}

    def _script(self, cmd, text):
        self.dispatcher.run_script(text, "%s: %s" % (cmd.location, cmd.name))

    def cmd_PAUSE(self, cmd):
        if self.is_paused:
            self.dispatcher.info("Print already paused")
            return
        self.dispatcher.info("action:paused (offline: input goes on)")
        self._script(cmd, "SAVE_GCODE_STATE NAME=%s" % (STATE_NAME,))
        self.is_paused = True

    def cmd_RESUME(self, cmd):
        if not self.is_paused:
            self.dispatcher.info("Print is not paused, resume aborted")
            return
        velocity = cmd.get_float("VELOCITY", self.recover_velocity, above=0.)
        self._script(cmd, "RESTORE_GCODE_STATE NAME=%s MOVE=1 MOVE_SPEED=%.4f"
                     % (STATE_NAME, velocity))
        self.dispatcher.info("action:resumed")
        self.is_paused = False

    def cmd_CLEAR_PAUSE(self, cmd):
        self.is_paused = False

    def cmd_CANCEL_PRINT(self, cmd):
        self.dispatcher.info("action:cancel (offline: input goes on)")
        self.is_paused = False


def load_pause_resume(printer, section):
    recover_velocity = section.getfloat("recover_velocity", 50., above=0.)
    return PauseResume(printer.dispatcher, recover_velocity)
