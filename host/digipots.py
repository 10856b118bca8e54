"""SPI digital potentiometers and DACs that set stepper driver currents:
[ad5206 NAME] and [dac084S085 NAME] (docs/Config_Reference.md). Each is
an SPI device (host/bus.py; chip select on `enable_pin`) whose channel
values are written once, as set-up `spi_send` commands right after
finalize_config, in channel order.

- ad5206: SPI mode 0, 25 MHz by default; channel_1..channel_6 in
  0..scale; a write is [channel index 0-5, wiper], wiper = value / scale
  of 256 steps, rounded (at most 255, the register's range).
- dac084S085: SPI mode 1, 10 MHz by default; channel_A..channel_D in
  0..scale; a write is the chip's 16-bit word (datasheet): channel in
  bits 15-14, "write and update" (0b01) in bits 13-12, the 8-bit value
  (value / scale of 255, truncated) in bits 11-4.

Contract: `load_ad5206(printer, section)`, `load_dac084s085(printer, section)`.
"""
from .bus import SpiDevice

AD5206_CHANNELS = 6
AD5206_STEPS = 256.
DAC084_CHANNELS = "ABCD"
DAC084_WRITE_UPDATE = 0x1 << 4      # in the first byte (bits 13-12 of the word)


def load_ad5206(printer, section):
    spi = SpiDevice(printer.hw, section, 0, "enable_pin", 25000000)
    scale = section.getfloat("scale", 1., above=0.)
    for index in range(AD5206_CHANNELS):
        value = section.getfloat("channel_%d" % (index + 1), None, minval=0., maxval=scale)
        if value is not None:
            wiper = min(255, int(value * AD5206_STEPS / scale + .5))
            spi.spi_send([index, wiper])
    return spi


def load_dac084s085(printer, section):
    spi = SpiDevice(printer.hw, section, 1, "enable_pin", 10000000)
    scale = section.getfloat("scale", 1., above=0.)
    for channel, name in enumerate(DAC084_CHANNELS):
        value = section.getfloat("channel_%s" % name, None, minval=0., maxval=scale)
        if value is not None:
            code = int(value * 255. / scale)
            spi.spi_send([(channel << 6) | DAC084_WRITE_UPDATE | ((code >> 4) & 0x0f),
                          (code << 4) & 0xf0])
    return spi
