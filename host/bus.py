"""SPI devices on an MCU, as Klipper's host configures them
(docs/MCU_Commands.md; the command formats are the firmware's):

- `config_spi oid pin cs_active_high` is queued when the device is
  created, so it precedes every command the config callbacks add (the
  chip-select pins go inactive before any bus is set up);
- at connect, `spi_set_bus oid spi_bus mode rate` (hardware SPI: `spi_bus`
  names one of the dictionary's `spi_bus` values; without it, the bus
  numbered 0) or `spi_set_sw_bus oid miso_pin mosi_pin sclk_pin mode
  pulse_ticks` (software SPI, `spi_software_*_pin`; one clock period of
  `spi_speed` in ticks);
- `spi_send(data)` before connect becomes an init command (sent right
  after finalize_config, in call order), afterwards a plain command.

Contract: `SpiDevice(hw, section, mode, pin_option, default_speed)`;
attributes `mcu`, `oid`; `spi_send(data)`.
"""
from .configfile import ConfigError

MIN_SPI_SPEED = 100000
SW_PIN_OPTIONS = ("spi_software_miso_pin", "spi_software_mosi_pin", "spi_software_sclk_pin")


class SpiDevice:
    def __init__(self, hw, section, mode, pin_option="cs_pin", default_speed=100000,
                 cs_active_high=False):
        spec = section.getpin(pin_option)
        self.mcu = mcu = hw.lookup(spec.chip, section, pin_option)
        mcu.check_pin(spec.pin, section.location(pin_option))
        self.mode = mode
        self.speed = section.getint("spi_speed", default_speed, minval=MIN_SPI_SPEED)
        self.sw_pins = None
        self.bus = None
        if section.get("spi_software_sclk_pin", None) is not None:
            self.sw_pins = [self._sw_pin(hw, section, option) for option in SW_PIN_OPTIONS]
        else:
            self.bus = section.get("spi_bus", None)
            self.bus_where = section.location("spi_bus")
        self.oid = mcu.create_oid()
        mcu.add_config_cmd("config_spi", {"oid": self.oid, "pin": spec.pin,
                                          "cs_active_high": int(bool(cs_active_high))})
        self._connected = False
        mcu.register_config_callback(self._build_config)

    def _sw_pin(self, hw, section, option):
        spec = section.getpin(option)
        if hw.lookup(spec.chip, section, option) is not self.mcu:
            raise section.error("%s: spi pins must be on same mcu" % (section.name,), option)
        self.mcu.check_pin(spec.pin, section.location(option))
        return spec.pin

    def _build_config(self):
        mcu = self.mcu
        if self.sw_pins is not None:
            miso, mosi, sclk = self.sw_pins
            mcu.add_config_cmd("spi_set_sw_bus", {
                "oid": self.oid, "miso_pin": miso, "mosi_pin": mosi, "sclk_pin": sclk,
                "mode": self.mode, "pulse_ticks": mcu.seconds_to_clock(1. / self.speed)})
        else:
            mcu.add_config_cmd("spi_set_bus", {
                "oid": self.oid, "spi_bus": self._bus_name(), "mode": self.mode,
                "rate": self.speed})
        self._connected = True

    def _bus_name(self):
        """The configured bus, checked against the dictionary; by default
        the bus numbered 0 (the last name with that number)."""
        names = self.mcu.dictionary.enumerations.get("spi_bus")
        if names is None:
            return 0 if self.bus is None else self.bus
        if self.bus is None:
            zero = [name for name, value in names.items() if value == 0]
            if not zero:
                raise ConfigError("Must specify spi_bus on mcu '%s'" % (self.mcu.name,),
                                  self.bus_where)
            return zero[-1]
        if self.bus not in names:
            raise ConfigError("Unknown spi_bus '%s'" % (self.bus,), self.bus_where)
        return self.bus

    def spi_send(self, data):
        args = {"oid": self.oid, "data": bytes(data)}
        if not self._connected:
            self.mcu.add_config_cmd("spi_send", args, is_init=True)
        else:
            self.mcu.send("spi_send", args)
