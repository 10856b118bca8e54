"""klipsim.gcode: reading G-code text into commands and running them.

Public API (see each module's first lines for the contract):
- reader:   read_gcode(path, source=None), read_lines(lines, source)
- command:  GCodeCommand (name, params, raw_params, text, source, lineno,
            get/get_int/get_float/error), parse_line, make_command
- errors:   GCodeError, GCodeInternalError
- dispatch: Dispatcher
- arcs:     plan_arc, arc_moves, ArcCommands, PLANE_XY/PLANE_XZ/PLANE_YZ
- macros:   Macro, MacroSet (add / add_from_config), parse_variables
This package imports nothing else of klipsim.
"""
from .command import GCodeCommand, make_command, parse_line
from .dispatch import Dispatcher
from .errors import GCodeError, GCodeInternalError
from .reader import read_gcode, read_lines

__all__ = ["GCodeCommand", "make_command", "parse_line", "Dispatcher",
           "GCodeError", "GCodeInternalError", "read_gcode", "read_lines"]
