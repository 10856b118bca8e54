"""[neopixel NAME]: a chain of WS2812-style LEDs on one data pin
(docs/Config_Reference.md [neopixel]); colours set by SET_LED (host/led.py).

Contract: `load_neopixel(printer, section)`; `get_status()` gives
{'color_data': [(r, g, b, w), ...]}.

What reaches the MCU stream (Klipper's neopixel.py behaviour, restated):
* config_neopixel with data_size = bytes of the chain (3 or 4 per LED by
  color_order, default GRB), bit_max_ticks = 4 us, reset_min_ticks =
  50 us; the oid is taken when the section is loaded (not at connect);
* at connect, and after each SET_LED that changed a colour, the changed
  bytes of the frame buffer go out as neopixel_update oid pos data,
  nearby changes merged (a gap of up to 5 bytes, runs of at most 16
  bytes, grouped from the end of the buffer);
* neopixel_send (which asks the MCU to show the buffer and waits for its
  answer) is not sent when the output goes to a file, as in Klipper's
  batch mode. Updates leave from a reactor callback, i.e. the next time
  the reactor runs, with no clock (Klipper sends them at background
  priority).
"""
from .configfile import ConfigError
from .led import LedHelper

BIT_MAX_TIME = .000004
RESET_MIN_TIME = .000050
MAX_MCU_SIZE = 500          # bytes of one chain
MERGE_GAP = 5               # changed bytes this close go in one update
MAX_RUN = 16                # ... as long as the run stays this short


class NeoPixel:
    def __init__(self, printer, section):
        self.printer = printer
        spec = section.getpin("pin")
        self.mcu = printer.hw.lookup(spec.chip, section, "pin")
        self.mcu.check_pin(spec.pin, section.location("pin"))
        self.pin = spec.pin
        self.oid = self.mcu.create_oid()
        self.mcu.register_config_callback(self._build_config)
        chain_count = section.getint("chain_count", 1, minval=1)
        self.color_map = self._color_map(section, chain_count)
        self.helper = LedHelper(printer, section, self._update, chain_count)
        self.color_data = bytearray(len(self.color_map))
        self._fill(self.helper.colors)
        self.sent_data = bytearray(b ^ 1 for b in self.color_data)   # all "changed"
        self.pending = None
        self.timer = None

    @staticmethod
    def _color_map(section, chain_count):
        orders = [o.strip() for o in section.getlist("color_order", ["GRB"])]
        if len(orders) == 1:
            orders = orders * chain_count
        if len(orders) != chain_count:
            raise ConfigError("color_order does not match chain_count",
                              section.location("color_order"))
        indexes = []
        for led, order in enumerate(orders):
            if sorted(order) not in (sorted("RGB"), sorted("RGBW")):
                raise ConfigError("Invalid color_order '%s'" % (order,),
                                  section.location("color_order"))
            indexes.extend((led, "RGBW".index(c)) for c in order)
        if len(indexes) > MAX_MCU_SIZE:
            raise ConfigError("neopixel chain too long", section.location("chain_count"))
        return indexes

    def _build_config(self):
        self.mcu.add_config_cmd("config_neopixel", {
            "oid": self.oid, "pin": self.pin, "data_size": len(self.color_data),
            "bit_max_ticks": self.mcu.seconds_to_clock(BIT_MAX_TIME),
            "reset_min_ticks": self.mcu.seconds_to_clock(RESET_MIN_TIME)})
        # The initial colours go out once the MCU is configured (Klipper
        # sends them at klippy:connect, after the configuration).
        for name, args in self._updates():
            self.mcu.add_config_cmd(name, args, is_init=True)

    def connect(self, printer):
        self.helper.connect(printer)
        self.timer = printer.reactor.register_timer(self._send_pending)

    def get_status(self):
        return self.helper.get_status()

    def _fill(self, colors):
        for position, (led, channel) in enumerate(self.color_map):
            self.color_data[position] = int(colors[led][channel] * 255. + .5)

    def _update(self, colors, print_time):
        # Klipper hands this to a reactor callback: it runs when the
        # reactor next gets control.
        self.pending = colors
        self.printer.reactor.update_timer(self.timer, self.printer.reactor.NOW)

    def _send_pending(self, eventtime):
        if self.pending is not None:
            self._fill(self.pending)
            self.pending = None
            self._send()
        return self.printer.reactor.NEVER

    def _changed_runs(self):
        runs = [[i, 1] for i, (new, old) in enumerate(zip(self.color_data, self.sent_data))
                if new != old]
        for i in range(len(runs) - 2, -1, -1):
            position, _ = runs[i]
            next_position, next_count = runs[i + 1]
            if position + MERGE_GAP >= next_position and next_count < MAX_RUN:
                runs[i][1] = next_count + (next_position - position)
                del runs[i + 1]
        return runs

    def _updates(self):
        """neopixel_update messages for the bytes changed since the last
        send (and note them as sent)."""
        updates = [("neopixel_update", {
            "oid": self.oid, "pos": position,
            "data": bytes(self.color_data[position:position + count])})
            for position, count in self._changed_runs()]
        self.sent_data[:] = self.color_data
        return updates

    def _send(self):
        for name, args in self._updates():
            self.mcu.send(name, args)


def load_neopixel(printer, section):
    return NeoPixel(printer, section)
