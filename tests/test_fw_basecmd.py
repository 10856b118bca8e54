"""Basic firmware commands and the generated data dictionary."""
import json
import os
import sys
import zlib

import pytest

from klipsim.firmware.simulator import mcu as fwmcu
from klipsim.firmware.simulator.mcu import Firmware
from klipsim.golden import reference

sys.path.insert(0, os.path.dirname(__file__))
from _fw_helpers import FREQ, PROFILE, configured, names  # noqa: E402

KLIPPER_DICTS = {"atmega2560": "dicts/atmega2560.dict", "stm32f407": "dicts/stm32f407.dict",
                 "stm32f446": "dicts/stm32f446.dict"}


def klipper_dict(profile):
    with open(os.path.join(reference.REFERENCE_DIR, KLIPPER_DICTS[profile])) as f:
        return json.load(f)


def test_identify_serves_the_whole_dictionary():
    fw = Firmware(PROFILE)
    blob, offset = b"", 0
    while True:
        fw.send(("identify", {"offset": offset, "count": 40}))
        (name, args), = fw.responses()
        assert name == "identify_response" and args["offset"] == offset
        if not args["data"]:
            break
        blob += args["data"]
        offset += len(args["data"])
    d = json.loads(zlib.decompress(blob))
    assert d == fwmcu.dictionary_json(PROFILE)
    assert d["commands"]["identify offset=%u count=%c"] == 1
    assert d["responses"]["identify_response offset=%u data=%.*s"] == 0


@pytest.mark.parametrize("profile", sorted(KLIPPER_DICTS))
def test_dictionary_uses_klippers_names_formats_and_pins(profile):
    ours = fwmcu.dictionary_json(profile)
    theirs = klipper_dict(profile)
    klipper_formats = {f.split()[0]: f for f in list(theirs["commands"]) + list(theirs["responses"])}
    for fmt in list(ours["commands"]) + list(ours["responses"]):
        assert klipper_formats[fmt.split()[0]] == fmt
    assert ours["enumerations"]["pin"] == theirs["enumerations"]["pin"]
    for key in ("CLOCK_FREQ", "MCU", "ADC_MAX"):
        assert ours["config"][key] == theirs["config"][key]
    # every shutdown reason we can send is enumerated
    strings = ours["enumerations"]["static_string_id"]
    assert {"Timer too close", "Move queue overflow", "Invalid count parameter",
            "Missed scheduling of next digital out event"} <= set(strings)
    assert sorted(strings.values()) == list(range(1, len(strings) + 1))
    ids = list(ours["commands"].values()) + list(ours["responses"].values())
    assert len(set(ids)) == len(ids) and max(ids) < 96


def test_dictionary_is_reproducible():
    assert fwmcu.dictionary_blob(PROFILE) == fwmcu.dictionary_blob(PROFILE)
    from klipsim.firmware import dictgen
    text1, _ = dictgen.generate_c()
    text2, _ = dictgen.generate_c()
    assert text1 == text2


def test_get_clock_uptime_config():
    fw = Firmware(PROFILE)
    fw.run_until(5 * (1 << 32) + 12345)
    fw.send("get_clock", "get_uptime", "get_config")
    r = dict(fw.responses())
    assert r["clock"]["clock"] == 12345
    assert (r["uptime"]["high"], r["uptime"]["clock"]) == (5, 12345)
    assert r["config"] == {"is_config": 0, "crc": 0, "is_shutdown": 0, "move_count": 500}
    fw.send("allocate_oids count=1", "finalize_config crc=99", "get_config")
    assert fw.responses()[0][1]["is_config"] == 1
    assert fw.responses() == []


def test_config_after_finalize_and_double_allocate():
    fw = configured()
    fw.send("config_trsync oid=0")
    assert fw.shutdown_reason == "Already finalized"
    fw = Firmware(PROFILE)
    fw.send("allocate_oids count=2", "allocate_oids count=2")
    assert fw.shutdown_reason == "oids already allocated"


def test_oid_checks():
    fw = Firmware(PROFILE)
    fw.send("allocate_oids count=2", "config_trsync oid=2")
    assert fw.shutdown_reason == "Can't assign oid"
    fw = configured(["config_trsync oid=0"])
    fw.send("queue_step oid=0 interval=10 count=1 add=0")
    assert fw.shutdown_reason == "Invalid oid type"


def test_emergency_stop_is_shutdown_and_clear_shutdown():
    fw = configured(["config_trsync oid=0"])
    fw.run_until(1000)
    fw.send("emergency_stop")
    (name, args), = fw.responses()
    assert name == "shutdown" and args == {"clock": 1000, "static_string_id": "Command request"}
    fw.send("trsync_start oid=0 report_clock=2000 report_ticks=0 expire_reason=1",
            "get_clock")
    assert names(fw.responses()) == ["is_shutdown", "clock"]
    fw.send("clear_shutdown", "get_config")
    assert fw.responses()[0][1]["is_shutdown"] == 0
    fw.send("clear_shutdown")
    assert fw.shutdown_reason == "Shutdown cleared when not shutdown"


def test_stats_every_five_seconds():
    fw = Firmware(PROFILE)
    fw.run_until(5 * FREQ - 1)
    assert fw.responses() == []
    fw.run_until(11 * FREQ)
    stats = fw.responses()
    assert names(stats) == ["stats", "stats"]
    # the task loop runs on every 100 ms periodic tick: 50 passes per report
    assert [a["count"] for _, a in stats] == [50, 50]


def test_instances_are_independent():
    a, b = configured(["config_trsync oid=0"]), Firmware(PROFILE)
    a.send("emergency_stop")
    b.run_until(FREQ)
    assert a.is_shutdown and not b.is_shutdown
    b.send("get_config")
    assert b.responses()[0][1]["is_config"] == 0


def test_pins_outside_the_enumeration_are_refused():
    # atmega2560: PH0..PH7 = 56..63, PJ0 = 72; 64..71 name no pin
    fw = Firmware("atmega2560")
    fw.send("allocate_oids count=2",
            ("config_digital_out", {"oid": 0, "pin": 63, "value": 0, "default_value": 0,
                                    "max_duration": 0}))
    assert not fw.is_shutdown
    fw.send(("config_digital_out", {"oid": 1, "pin": 64, "value": 0, "default_value": 0,
                                    "max_duration": 0}))
    assert fw.shutdown_reason == "Not a valid pin"


def test_reset_gives_a_fresh_mcu():
    fw = configured(["config_trsync oid=0"])
    fw.run_until(FREQ)
    fw.send("emergency_stop")
    fw.reset()
    assert fw.now == 0 and not fw.is_shutdown
    fw.send("get_config")
    assert fw.responses()[0][1]["is_config"] == 0
