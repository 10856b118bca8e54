"""[virtual_sdcard] and the print_stats object it loads, as far as an
offline run sees them (docs/Config_Reference.md, docs/G-Codes.md).

Contract: `load_virtual_sdcard(printer, section)` reads the section and
adds `print_stats` to the printer's objects. SET_PRINT_STATS_INFO
TOTAL_LAYER / CURRENT_LAYER keep the layer information macros read as
printer.print_stats.info; nothing here reaches the MCU. Klipper's rules:
TOTAL_LAYER=0 clears both values, a new total restarts the current layer
at 0, and the current layer never exceeds the total (and is kept only
when a total is known).
"""


class PrintStats:
    def __init__(self, dispatcher):
        self.total_layer = None
        self.current_layer = None
        dispatcher.register("SET_PRINT_STATS_INFO", self.cmd_SET_PRINT_STATS_INFO,
                            "Pass slicer info like layer act and total to klipper")

    def cmd_SET_PRINT_STATS_INFO(self, cmd):
        total = cmd.get_int("TOTAL_LAYER", self.total_layer, minval=0)
        current = cmd.get_int("CURRENT_LAYER", self.current_layer, minval=0)
        if total == 0:
            self.total_layer = self.current_layer = None
        elif total != self.total_layer:
            self.total_layer = total
            self.current_layer = 0
        if (self.total_layer is not None and current is not None
                and current != self.current_layer):
            self.current_layer = min(current, self.total_layer)

    def get_status(self):
        return {"filename": "", "state": "standby", "print_duration": 0.,
                "total_duration": 0., "filament_used": 0., "message": "",
                "info": {"total_layer": self.total_layer,
                         "current_layer": self.current_layer}}


class VirtualSdcard:
    """Only the options: printing from the SD card is not modelled (the
    G-code comes from the input file)."""

    def __init__(self, section):
        self.path = section.get("path")
        section.get("on_error_gcode", None)

    def get_status(self):
        return {"file_path": None, "progress": 0., "is_active": False,
                "file_position": 0, "file_size": 0}


def load_virtual_sdcard(printer, section):
    if "print_stats" not in printer.objects:
        printer.objects["print_stats"] = PrintStats(printer.dispatcher)
    return VirtualSdcard(section)
