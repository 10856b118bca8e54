"""Trinamic stepper drivers: [tmc2208], [tmc2209], [tmc2130], [tmc5160],
[tmc2240], [tmc2660] (docs/Config_Reference.md "TMC stepper driver
configuration", docs/TMC_Drivers.md, docs/G-Codes.md "[tmcXXXX]").

What reaches the MCU, as in Klipper's batch mode (the reference corpus's
README, "What klippy sends for these features"):
- UART drivers (2208, 2209, 2240 with uart_pin): one `config_tmcuart oid
  rx_pin pull_up tx_pin bit_time` per UART (drivers on the same uart_pin
  share it, told apart by uart_address), bit_time one bit at 40000 baud
  (9000 on AVR MCUs, Klipper's tmc_uart.py); select_pins add a
  `config_digital_out` per multiplexer pin, sent at once.
- SPI drivers (2130, 5160, 2660, 2240 without uart_pin): an SPI device
  as every SPI chip gets one (host/bus.py: config_spi at once, the bus
  set-up with the configuration callbacks), 4 MHz by default. Drivers in
  one daisy chain (chain_position/chain_length) share one device.
- Register traffic: none. Klipper's batch mode (debug output) skips every
  register write and reads every register as 0, so initialisation,
  SET_TMC_CURRENT, SET_TMC_FIELD, DUMP_TMC, INIT_TMC and the sensorless
  homing register changes send nothing.
- The driver's stepper asks for a 100 ns step pulse on both step edges
  (host/stepper.py decides whether the MCU allows it).
- `tmcXXXX_stepper_x:virtual_endstop` is an ordinary endstop on the
  driver's diag pin (diag_pin, or diag0_pin/diag1_pin).
- The first time the stepper is enabled, a reactor callback (run at the
  next input-read boundary or toolhead pause) waits for the moves
  ("Pausing toolhead to calculate ... phase offset": toolhead.wait_moves).
- SET_TMC_CURRENT plans out the look-ahead (get_last_move_time).
"""
from .bus import SpiDevice
from .configfile import ConfigError, pin_at
from .mcu import Endstop

TMC_BAUD_RATE = 40000            # tmc_uart.py
TMC_BAUD_RATE_AVR = 9000
TMC_PULSE_DURATION = 0.000000100  # tmc.py: 100 ns, step on both edges
SPI_DEFAULT_SPEED = 4000000       # tmc2130/5160/2240/2660: spi_speed default

# driver -> (interfaces, highest uart_address, SPI mode)
DRIVERS = {
    "tmc2208": (("uart",), 0, None),
    "tmc2209": (("uart",), 3, None),
    "tmc2240": (("uart", "spi"), 3, 3),
    "tmc2130": (("spi",), None, 3),
    "tmc5160": (("spi",), None, 3),
    "tmc2660": (("spi",), None, 0),
}
DIAG_OPTIONS = ("diag_pin", "diag0_pin", "diag1_pin")


def _select_pins(section):
    """The PinSpecs of a section's select_pins list (a UART multiplexer)."""
    where = section.location("select_pins")
    return [pin_at(text.strip(), section.name, "select_pins", where, can_invert=True)
            for text in section.get("select_pins").split(",")]


def _mcu_pin(hw, section, option, **flags):
    spec = section.getpin(option, **flags)
    mcu = hw.lookup(spec.chip, section, option)
    mcu.check_pin(spec.pin, section.location(option))
    return mcu, spec


def _shared(hw, kind):
    """Per-printer registry of shared buses (uarts, SPI chains)."""
    registries = hw.__dict__.setdefault("tmc_shared", {})
    return registries.setdefault(kind, {})


class TmcUart:
    """One bit-banged UART (config_tmcuart), shared by its drivers."""

    def __init__(self, hw, section, rx, tx, mcu):
        self.mcu = mcu
        self.rx, self.tx = rx, tx
        self.oid = mcu.create_oid()
        self.select_pins = None
        self.addresses = set()
        if section.has_option("select_pins"):
            self.select_pins = self._setup_mux(hw, section)
        mcu.register_config_callback(self._build_config)

    def _setup_mux(self, hw, section):
        specs = _select_pins(section)
        oids = [self.mcu.create_oid() for _ in specs]
        for oid, spec in zip(oids, specs):
            self.mcu.add_config_cmd("config_digital_out", {
                "oid": oid, "pin": spec.pin, "value": 0, "default_value": 0,
                "max_duration": 0})
        return [spec.pin for spec in specs]

    def register(self, section, rx, tx, address):
        select = None
        if section.has_option("select_pins"):
            select = _select_pins(section)
        if (rx.pin, tx.pin) != (self.rx.pin, self.tx.pin) \
                or (select is None) != (self.select_pins is None):
            raise ConfigError("Shared TMC uarts must use the same pins", section.location("uart_pin"))
        instance = (tuple(not s.invert for s in select) if select else None, address)
        if instance in self.addresses:
            raise ConfigError("Shared TMC uarts need unique address or select_pins polarity",
                              section.location("uart_address"))
        self.addresses.add(instance)

    def _build_config(self):
        mcu_type = str(self.mcu.constants.get("MCU", ""))
        baud = TMC_BAUD_RATE
        if mcu_type.startswith("atmega") or mcu_type.startswith("at90usb"):
            baud = TMC_BAUD_RATE_AVR
        self.mcu.add_config_cmd("config_tmcuart", {
            "oid": self.oid, "rx_pin": self.rx.pin, "pull_up": int(self.rx.pullup == 1),
            "tx_pin": self.tx.pin, "bit_time": self.mcu.seconds_to_clock(1. / baud)})


def setup_uart(hw, section, max_addr):
    """The (possibly shared) UART of a UART driver section."""
    mcu, rx = _mcu_pin(hw, section, "uart_pin", can_pullup=True)
    tx = rx
    if section.has_option("tx_pin"):
        tx_mcu, tx = _mcu_pin(hw, section, "tx_pin")
        if tx_mcu is not mcu:
            raise ConfigError("TMC uart rx and tx pins must be on the same mcu",
                              section.location("tx_pin"))
    address = section.getint("uart_address", 0, minval=0, maxval=max_addr)
    uarts = _shared(hw, "uart")
    uart = uarts.get((mcu.name, rx.pin))
    if uart is None:
        uart = uarts[(mcu.name, rx.pin)] = TmcUart(hw, section, rx, tx, mcu)
    uart.register(section, rx, tx, address)
    return uart


def setup_spi(hw, section, mode):
    """The SPI device of an SPI driver (shared along a daisy chain)."""
    mcu, cs = _mcu_pin(hw, section, "cs_pin")
    chain_length = section.getint("chain_length", None, minval=2)
    if chain_length is not None:
        section.getint("chain_position", minval=1, maxval=chain_length)
    chains = _shared(hw, "spi")
    device = chains.get((mcu.name, cs.pin)) if chain_length is not None else None
    if device is not None:
        return device
    device = SpiDevice(hw, section, mode, default_speed=SPI_DEFAULT_SPEED)
    if chain_length is not None:
        chains[(mcu.name, cs.pin)] = device
    return device


class TmcDriver:
    """One [tmcXXXX stepper_name] section."""

    def __init__(self, printer, section):
        self.printer = printer
        self.kind, self.stepper_name = section.name.split(None, 1)
        self.section = section
        interfaces, max_addr, spi_mode = DRIVERS[self.kind]
        if "uart" in interfaces and (section.has_option("uart_pin") or "spi" not in interfaces):
            self.bus = setup_uart(printer.hw, section, max_addr)
        else:
            self.bus = setup_spi(printer.hw, section, spi_mode)
        self.diag_option = next((o for o in DIAG_OPTIONS if section.has_option(o)), None)
        self.endstop = None
        self.stepper = None
        self.run_current = section.getfloat("run_current", above=0.)
        self.hold_current = section.getfloat("hold_current", None, above=0.)
        self.home_current = section.getfloat("home_current", None, above=0.)
        for option in section.options():      # registers, thresholds, ...
            section.get(option)
        chip = "%s_%s" % (self.kind, self.stepper_name)
        printer.hw.pin_chips[chip] = self
        register = printer.dispatcher.register_mux
        for command in ("SET_TMC_CURRENT", "SET_TMC_FIELD", "DUMP_TMC", "INIT_TMC"):
            register(command, "STEPPER", self.stepper_name, getattr(self, "cmd_" + command))

    # ---- the pin chip "tmcXXXX_stepper_x" -----------------------------------
    def setup_endstop(self, spec, where):
        if spec.pin != "virtual_endstop":
            raise ConfigError("tmc virtual endstop only useful as endstop", where)
        if spec.invert or spec.pullup:
            raise ConfigError("Can not pullup/invert tmc virtual pin", where)
        if self.diag_option is None:
            raise ConfigError("tmc virtual endstop requires diag pin config", where)
        if self.endstop is None:
            mcu, diag = _mcu_pin(self.printer.hw, self.section, self.diag_option,
                                 can_invert=True, can_pullup=True)
            self.endstop = Endstop(mcu, diag.pin, diag.pullup == 1, diag.invert)
        return self.endstop

    def connect(self, printer):
        self.stepper = _find_stepper(printer, self.stepper_name)
        if self.stepper is None:
            raise ConfigError("Unable to find stepper '%s' for [%s]"
                              % (self.stepper_name, self.section.name), self.section.location())
        self.stepper.setup_default_pulse_duration(TMC_PULSE_DURATION, True)
        self.stepper.add_active_callback(self._first_enable)

    def _first_enable(self, print_time):
        """Klipper computes the driver's phase offset once, on the first
        enable, from a reactor callback that waits for the moves."""
        reactor = self.printer.reactor

        def callback(eventtime):
            self.printer.toolhead.wait_moves()
            return reactor.NEVER
        reactor.register_timer(callback, reactor.NOW)

    # ---- commands (no register traffic offline) -------------------------------
    def cmd_SET_TMC_CURRENT(self, cmd):
        run = cmd.get_float("CURRENT", None, minval=0.)
        hold = cmd.get_float("HOLDCURRENT", None, above=0.)
        home = cmd.get_float("HOMECURRENT", None, above=0.)
        if run is None and hold is None and home is None:
            self.printer.dispatcher.info("Run Current: %0.2fA Hold Current: %s"
                                         % (self.run_current, self._hold_text()))
            return
        self.printer.toolhead.get_last_move_time()   # current changes are timed
        if run is not None:
            self.run_current = run
        if hold is not None:
            self.hold_current = hold
        if home is not None:
            self.home_current = home

    def _hold_text(self):
        return "%0.2fA" % self.hold_current if self.hold_current else "-"

    def cmd_SET_TMC_FIELD(self, cmd):
        field = cmd.get("FIELD").lower()
        value = cmd.get_int("VALUE", None)
        velocity = cmd.get_float("VELOCITY", None, minval=0.)
        if (value is None) == (velocity is None):
            raise cmd.error("Specify either VALUE or VELOCITY")
        if field == "":
            raise cmd.error("Unknown field name '%s'" % (field,))
        self.printer.toolhead.get_last_move_time()   # the write is timed

    def cmd_DUMP_TMC(self, cmd):
        register = cmd.get("REGISTER", None)
        name = register.upper() if register else "all registers"
        self.printer.dispatcher.info("========== %s: %s (batch mode reads 0) =========="
                                     % (self.section.name, name))

    def cmd_INIT_TMC(self, cmd):
        pass


def _find_stepper(printer, name):
    for stepper in printer.motion.steppers:
        if stepper.name == name:
            return stepper
    return None


def load_tmc(printer, section):
    return TmcDriver(printer, section)
