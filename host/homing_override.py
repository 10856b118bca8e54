"""[homing_override]: run a G-code template instead of the normal G28
(docs/Config_Reference.md): for a plain G28, or a G28 naming one of
`axes`, set the position of set_position_x/y/z first (those axes count as
homed), then run the template with the G28's params; a G28 inside the
template is the normal one."""
from ..gcode.macros import Macro


class HomingOverride:
    def __init__(self, section):
        self.axes = section.get("axes", "XYZ").upper()
        self.set_position = [section.getfloat("set_position_" + a, None) for a in "xyz"]
        self.macro = Macro("homing_override", section.get("gcode"),
                           source=section.location("gcode"))
        self.in_script = False
        self.normal_g28 = None

    def connect(self, printer):
        self.printer = printer
        dispatcher = printer.dispatcher
        self.normal_g28 = dispatcher.unregister("G28")
        dispatcher.register("G28", self.cmd_G28, "Home axes (homing_override)")

    def cmd_G28(self, cmd):
        if self.in_script:
            self.normal_g28(cmd)
            return
        named = [a for a in "XYZ" if cmd.get(a, None) is not None]
        if named and not any(a in self.axes for a in named):
            self.normal_g28(cmd)
            return
        toolhead = self.printer.toolhead
        pos = toolhead.get_position()
        homing_axes = ""
        for axis, value in enumerate(self.set_position):
            if value is not None:
                pos[axis] = value
                homing_axes += "xyz"[axis]
        toolhead.set_position(pos, homing_axes=homing_axes)
        script = self.macro.render(dict(cmd.params), cmd.raw_params, self.printer.status())
        self.in_script = True
        try:
            self.printer.dispatcher.run_script(script, "homing_override")
        finally:
            self.in_script = False


def load(printer, section):
    return HomingOverride(section)
