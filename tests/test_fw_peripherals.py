"""Firmware commands of real printers' peripherals (docs/MCU_Commands.md,
Klipper's spicmds/thermocouple/tmcuart/buttons/i2ccmds semantics): SPI
devices, thermocouple readers, TMC UART, buttons and I2C, each against
values derived from the command's definition; the simulated chips return
fixed data (firmware/README.md)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import MS, configured, names  # noqa: E402
from klipsim.firmware.simulator.mcu import Firmware  # noqa: E402

SPI_CFG = ["config_spi oid=0 pin=PE11 cs_active_high=0",
           "spi_set_bus oid=0 spi_bus=spi3a mode=1 rate=4000000"]


def _shutdown_reason(lines):
    """The shutdown a configuration (then finalize_config) causes."""
    fw = Firmware("stm32f446")
    fw.send("allocate_oids count=8", *lines, "finalize_config crc=7")
    return fw.shutdown_reason


def _events(fw, pin):
    ev = fw.take_gpio_events()
    mine = ev[ev["pin"] == fw.pin(pin)]
    return [(int(c), int(v)) for c, v in zip(mine["clock"], mine["value"])]


def test_spi_transfer_answers_as_many_bytes_with_cs_active_low():
    fw = configured(SPI_CFG)
    assert _events(fw, "PE11") == [(0, 1)]           # configured inactive (high)
    fw.run_until(5 * MS)
    fw.send("spi_transfer oid=0 data=b'\\x80\\x81#\\x03'")
    assert fw.responses() == [("spi_transfer_response", {"oid": 0, "response": b"\0\0\0\0"})]
    assert _events(fw, "PE11") == [(5 * MS, 0), (5 * MS, 1)]    # selected, released
    fw.send("spi_send oid=0 data=b'\\x80\\xc3'")
    assert fw.responses() == [] and not fw.is_shutdown


def test_spi_software_bus_and_active_high_cs():
    fw = configured(["config_spi oid=0 pin=PA4 cs_active_high=1",
                     "spi_set_sw_bus oid=0 miso_pin=PE13 mosi_pin=PE14 sclk_pin=PE12 mode=3"
                     " pulse_ticks=180"])
    assert _events(fw, "PA4") == [(0, 0)]
    assert _events(fw, "PA4") == []
    fw.send("spi_transfer oid=0 data=b'\\x01\\x02'")
    assert fw.responses()[0][1]["response"] == b"\0\0"
    ev = fw.take_gpio_events()
    assert [int(v) for v in ev[ev["pin"] == fw.pin("PA4")]["value"]] == [1, 0]


def test_spi_errors_shut_down_with_klippers_messages():
    assert _shutdown_reason(["config_spi oid=0 pin=PE11 cs_active_high=0",
                             "spi_set_bus oid=0 spi_bus=9 mode=0 rate=1000000"]) \
        == "Invalid spi bus"      # stm32f446's buses are 0..7
    assert _shutdown_reason(["config_spi oid=0 pin=PE11 cs_active_high=0",
                             "spi_set_bus oid=0 spi_bus=spi1 mode=4 rate=1000000"]) \
        == "Invalid spi config"
    fw = configured(["config_spi_without_cs oid=0"])
    fw.send("spi_send oid=0 data=b'\\x01'")
    assert fw.shutdown_reason == "Invalid spi config"    # no bus set


def test_thermocouple_reads_every_rest_ticks_in_range():
    fw = configured(SPI_CFG + ["config_thermocouple oid=1 spi_oid=0 thermocouple_type=MAX31865"])
    fw.send("query_thermocouple oid=1 clock=%d rest_ticks=%d min_value=15240 max_value=35010"
            " max_invalid_count=3" % (10 * MS, 300 * MS))
    fw.run_until(700 * MS)
    results = [a for n, a in fw.responses() if n == "thermocouple_result"]
    # readings at 10, 310 and 610 ms; each reports the next reading's clock
    assert [r["next_clock"] for r in results] == [310 * MS, 610 * MS, 910 * MS]
    assert {r["value"] for r in results} == {15240 + (35010 - 15240) // 2}
    assert {r["fault"] for r in results} == {0}
    fw.send("query_thermocouple oid=1 clock=0 rest_ticks=0 min_value=0 max_value=0"
            " max_invalid_count=0")
    fw.run_until(2000 * MS)
    assert "thermocouple_result" not in names(fw.responses())
    assert _shutdown_reason(SPI_CFG + ["config_thermocouple oid=1 spi_oid=0 thermocouple_type=7"]) \
        == "Invalid thermocouple chip type"


def test_tmcuart_answers_after_the_transfer_time():
    fw = configured(["config_tmcuart oid=0 rx_pin=PC4 pull_up=0 tx_pin=PC4 bit_time=4500"])
    fw.run_until(MS)
    fw.send("tmcuart_send oid=0 write=b'\\x05\\x00\\x06\\x6f' read=8")
    # 4 written + 8 read bytes of 10 bits at 4500 ticks (40 kbaud at 180 MHz)
    done = MS + 12 * 10 * 4500
    assert fw.responses() == []          # (reads the ack)
    assert fw.run_until(done - 1, stop_on_output=True) is False
    assert fw.run_until(done, stop_on_output=True) is True and fw.now == done
    assert fw.responses() == [("tmcuart_response", {"oid": 0, "read": bytes(8)})]
    fw.send("tmcuart_send oid=0 write=b'\\x05\\x00\\x80\\x00\\x00\\x00\\x01\\x9a' read=0")
    fw.run_until(done + 80 * 4500)
    assert fw.responses() == [("tmcuart_response", {"oid": 0, "read": b""})]
    fw.send("tmcuart_send oid=0 write=b'%s' read=0" % ("\\x00" * 11))
    assert fw.shutdown_reason == "tmcuart data too large"


def test_buttons_report_debounced_changes_until_acked():
    fw = configured(["config_buttons oid=0 button_count=2",
                     "buttons_add oid=0 pos=0 pin=PB1 pull_up=1",
                     "buttons_add oid=0 pos=1 pin=PB2 pull_up=1"])
    fw.send("buttons_query oid=0 clock=%d rest_ticks=%d retransmit_count=5 invert=1"
            % (MS, MS))
    fw.run_until(10 * MS)
    # PB1 reads 0 and is inverted: pressed (bit 0) from the second sample on
    first = [a for n, a in fw.responses() if n == "buttons_state"]
    assert first[0] == {"oid": 0, "ack_count": 0, "state": b"\x01"}
    fw.set_input("PB2", 1)
    fw.run_until(20 * MS)
    states = [a["state"] for n, a in fw.responses() if n == "buttons_state"]
    assert states[0] == b"\x01\x03"              # the unacked record is kept
    fw.send("buttons_ack oid=0 count=2")
    fw.run_until(40 * MS)
    assert "buttons_state" not in names(fw.responses())
    assert _shutdown_reason(["config_buttons oid=0 button_count=9"]) == "Max of 8 buttons"


def test_i2c_transfer_acknowledges_and_reads_zero():
    fw = configured(["config_i2c oid=0", "i2c_set_bus oid=0 i2c_bus=i2c1 rate=400000 address=62"])
    fw.send("i2c_transfer oid=0 write=b'\\x10\\x01' read_len=2")
    assert fw.responses() == [("i2c_response", {"oid": 0, "i2c_bus_status": "SUCCESS",
                                                "response": b"\0\0"})]
    assert _shutdown_reason(["config_i2c oid=0",
                             "i2c_set_bus oid=0 i2c_bus=8 rate=400000 address=62"]) \
        == "Unsupported i2c bus"


def test_step_on_both_edges_needs_one_pulse_time_between_steps():
    # invert_step=-1: every edge a step; 100 ns pulse (18 ticks at 180 MHz)
    fw = configured(["config_stepper oid=0 step_pin=PF0 dir_pin=PF1 invert_step=-1"
                     " step_pulse_ticks=18"])
    fw.send("queue_step oid=0 interval=%d count=1 add=0" % MS,
            "queue_step oid=0 interval=20 count=3 add=0")
    fw.run_until(2 * MS)
    assert np.diff(fw.take_pulses()["clock"]).tolist() == [20, 20, 20]


def test_hardware_pwm_updates_at_their_clock_and_checks_max_duration():
    fw = configured(["config_pwm_out oid=0 pin=PA8 cycle_ticks=1800 value=0 default_value=0"
                     " max_duration=%d" % (100 * MS)])
    fw.take_gpio_events()
    fw.send("queue_pwm_out oid=0 clock=%d value=16384" % (10 * MS),
            "queue_pwm_out oid=0 clock=%d value=0" % (50 * MS))
    fw.run_until(60 * MS)
    assert _events(fw, "PA8") == [(10 * MS, 16384), (50 * MS, 0)]
    # a non-default duty needs its next update within max_duration
    fw.send("queue_pwm_out oid=0 clock=%d value=100" % (70 * MS))
    fw.run_until(200 * MS)
    assert fw.shutdown_reason == "Missed scheduling of next hard pwm event"
    assert fw.shutdown_clock == 170 * MS and fw.pin_level("PA8") == 0
    fw = configured(["config_pwm_out oid=0 pin=PA8 cycle_ticks=1800 value=0 default_value=0"
                     " max_duration=%d" % (100 * MS)])
    fw.send("queue_pwm_out oid=0 clock=%d value=100" % (10 * MS),
            "queue_pwm_out oid=0 clock=%d value=0" % (200 * MS))
    fw.run_until(20 * MS)
    assert fw.shutdown_reason == "Scheduled pwm event will exceed max_duration"


def test_counter_counts_rising_edges_and_reports_every_poll():
    fw = configured(["config_counter oid=0 pin=PB5 pull_up=1"])
    fw.send("query_counter oid=0 clock=%d poll_ticks=%d sample_ticks=%d"
            % (10 * MS, 100 * MS, MS))
    fw.run_until(50 * MS)
    fw.set_input("PB5", 1)                       # one rising edge, seen at 51 ms
    fw.run_until(250 * MS)
    reports = [a for n, a in fw.responses() if n == "counter_state"]
    assert [(r["next_clock"], r["count"]) for r in reports] == \
        [(110 * MS, 0), (210 * MS, 1), (310 * MS, 1)]
    assert reports[-1]["count_clock"] == 51 * MS


def test_neopixel_update_and_send():
    fw = configured(["config_neopixel oid=0 pin=PB0 data_size=6 bit_max_ticks=720"
                     " reset_min_ticks=9000"])
    fw.send("neopixel_update oid=0 pos=0 data=b'\\xff\\x00\\x10'", "neopixel_send oid=0")
    assert fw.responses() == [("neopixel_result", {"oid": 0, "success": 1})]
    fw.send("neopixel_update oid=0 pos=4 data=b'\\x01\\x02\\x03'")
    assert fw.shutdown_reason == "Invalid neopixel update command"
