"""klipsim compile against Klipper's batch output for the sensors_misc
case (../shared/reference/sensors_misc): custom thermistors (Steinhart-Hart
and beta), adc_temperature voltage and resistance tables, PT1000, PT100
INA826 on a temperature_fan, MAX31865 on hardware SPI, MAX31856 on
software SPI, temperature_mcu, adc_scaled, heater_generic, controller_fan.
Step-equivalent, configuration block identical, and the whole text
byte-identical (SPI set-up, query_thermocouple and every query_analog_in
range included)."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _reference_check import check_reference_case  # noqa: E402
from _shared_corpus import requires_shared_reference  # noqa: E402


@requires_shared_reference
def test_sensors_misc_byte_identical(tmp_path):
    report = check_reference_case("sensors_misc", tmp_path, byte_identical=True)
    assert report.equivalent
