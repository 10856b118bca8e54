"""Build step: the firmware's data dictionary and dispatch tables.

Contract: reads the command declarations (DECL_COMMAND / DECL_COMMAND_FLAGS
with Klipper's command names and format strings), the response formats
(sendf literals) and the shutdown reasons (shutdown / try_shutdown
literals) from firmware/src/*.c, combines them with each MCU profile
(every chelper/profiles/<name>.json: CLOCK_FREQ, MCU name, ADC_MAX, the
host-relevant constants of PASSED_CONSTANTS, the pin, bus and sensor-type
enumerations, move count) and writes
one C file with the dispatch table, the response table, the static
strings and, per profile, the zlib-compressed JSON data dictionary in
Klipper's shape (served by the `identify` command).  Message ids:
identify_response=0 and identify=1 (fixed by the protocol), then the
responses, then the commands, each sorted by format string; all ids stay
below 96 so they encode in one VLQ byte.  Same sources, same bytes.

Run by firmware/simulator/build_firmware.py at build time; standalone
`python firmware/dictgen.py OUT.c` does the same.
"""
import glob
import json
import os
import re
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SRC_DIR = os.path.join(HERE, "src")
PROFILE_DIR = os.path.join(REPO, "chelper", "profiles")
# The first five keep their build order (and so their fw_profiles index);
# every other shipped profile follows, sorted.
FIRST_PROFILES = ("atmega2560", "stm32f407", "stm32f446", "rp2040", "linux")
ALIASES_FILE = "aliases.json"


def profile_names():
    """Every shipped profile (chelper/profiles/*.json), in build order."""
    shipped = sorted(f[:-5] for f in os.listdir(PROFILE_DIR)
                     if f.endswith(".json") and f != ALIASES_FILE)
    return [n for n in FIRST_PROFILES if n in shipped] + \
        [n for n in shipped if n not in FIRST_PROFILES]


# Config constants the firmware serves as they are in the profile (they
# change what the host sends: hardware PWM scale, step-on-both-edges).
PASSED_CONSTANTS = ("PWM_MAX", "STEPPER_STEP_BOTH_EDGE", "STEPPER_OPTIMIZED_EDGE",
                    "STEPPER_OPTIMIZED_UNSTEP", "PCA9685_MAX", "SERIAL_BAUD")
# Enumerations other than pins and static strings served as in the profile
# (bus names, sensor types: the host sends them by number).
PASSED_ENUMS = ("spi_bus", "i2c_bus", "bus", "sdio_bus", "thermocouple_type",
                "bus_oid_type", "i2c_bus_status", "spi_angle_type", "lis_chip_type",
                "trigger_analog_type")

IDENTIFY_RESPONSE = "identify_response offset=%u data=%.*s"
IDENTIFY = "identify offset=%u count=%c"
MAX_PARAMS = 12
SINGLE_BYTE_IDS = 96   # VLQ values 0..95 take one byte (KLIPPER-FACTS 4)

PARAM_TYPES = {"%u": "PT_uint32", "%i": "PT_int32", "%hu": "PT_uint16",
               "%hi": "PT_int16", "%c": "PT_byte", "%s": "PT_string",
               "%.*s": "PT_progmem_buffer", "%*s": "PT_buffer"}

_LITERALS = r'((?:\s*"(?:[^"\\]|\\.)*")+)'
_DECL = re.compile(r"DECL_COMMAND\(\s*(\w+)\s*," + _LITERALS + r"\s*\)")
_DECL_FLAGS = re.compile(
    r"DECL_COMMAND_FLAGS\(\s*(\w+)\s*,\s*(\w+)\s*," + _LITERALS + r"\s*\)")
_SENDF = re.compile(r"\bsendf\(\s*m\s*," + _LITERALS)
_SHUTDOWN = re.compile(r"\b(?:try_)?shutdown\(\s*m\s*," + _LITERALS + r"\s*\)")


class DictgenError(Exception):
    pass


def _join_literals(text):
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', text))


def param_types(fmt):
    """Parameter type names of a format string, in order."""
    types = []
    for token in fmt.split()[1:]:
        name, _, spec = token.partition("=")
        if spec not in PARAM_TYPES:
            raise DictgenError("unknown parameter type %r in %r" % (spec, fmt))
        types.append(PARAM_TYPES[spec])
    if len(types) > MAX_PARAMS:
        raise DictgenError("too many parameters in %r" % fmt)
    return types


def scan_sources(src_dir=SRC_DIR):
    """(commands, responses, static strings) declared in the C sources.

    commands: sorted list of (format, handler, flags)."""
    commands, responses, strings = {}, set(), set()
    for path in sorted(glob.glob(os.path.join(src_dir, "*.c"))):
        with open(path) as f:
            text = f.read()
        for func, lits in _DECL.findall(text):
            commands[_join_literals(lits)] = (func, "0")
        for func, flags, lits in _DECL_FLAGS.findall(text):
            commands[_join_literals(lits)] = (func, flags)
        responses.update(_join_literals(l) for l in _SENDF.findall(text))
        strings.update(_join_literals(l) for l in _SHUTDOWN.findall(text))
    cmds = [(fmt, func, flags) for fmt, (func, flags) in sorted(commands.items())]
    return cmds, sorted(responses), sorted(strings)


def assign_ids(commands, responses):
    """{format: msgid} for every command and response."""
    if IDENTIFY not in [c[0] for c in commands] or IDENTIFY_RESPONSE not in responses:
        raise DictgenError("identify/identify_response must be declared")
    ids = {IDENTIFY_RESPONSE: 0, IDENTIFY: 1}
    rest = [r for r in responses if r != IDENTIFY_RESPONSE]
    rest += [c[0] for c in commands if c[0] != IDENTIFY]
    for fmt in rest:
        ids[fmt] = len(ids)
    if len(ids) > SINGLE_BYTE_IDS:
        raise DictgenError("more than %d messages" % SINGLE_BYTE_IDS)
    return ids


# ---- profiles ----

def _pin_numbers(pins):
    """Every pin number an enumeration names ([start, count] is a range)."""
    numbers = set()
    for value in pins.values():
        numbers.update(range(value[0], value[0] + value[1]) if isinstance(value, list)
                       else [value])
    return numbers


def _bus_count(profile, enum):
    """Bus numbers below this are valid: one past the largest number the
    profile's bus enumeration (or its generic `bus`, as on SAMD51) names."""
    enums = profile.get("enums", {})
    names = enums.get(enum) or enums.get("bus") or {}
    return max(_pin_numbers(names)) + 1 if names else 0


def _pin_bitmap(pins):
    """(pin count, bitmap bytes) of the valid pin numbers."""
    numbers = _pin_numbers(pins)
    count = max(numbers) + 1
    bitmap = bytearray((count + 7) // 8)
    for n in numbers:
        bitmap[n // 8] |= 1 << (n % 8)
    return count, bytes(bitmap)


# Our firmware's serial port is modelled as Klipper's UART driver, whose
# receive buffer is 192 bytes and which declares it as RECEIVE_WINDOW
# (src/generic/serial_irq.c, KLIPPER-FACTS 2.5); the Linux-process MCU
# reads a pseudo-tty and declares none.
UART_RECEIVE_WINDOW = 192


def _uart_window(mcu):
    return None if mcu == "linux" else UART_RECEIVE_WINDOW


def _normalise_profile(name, raw):
    """Accept the protocol engineer's profile file; keys checked loosely."""
    cfg = raw.get("config", raw.get("constants", {}))
    get = lambda *keys, default=None: next(
        (src[k] for k in keys for src in (raw, cfg) if k in src), default)
    pins = get("pins", "pin")
    if pins is None and "enumerations" in raw:
        pins = raw["enumerations"].get("pin")
    profile = {"name": name, "mcu": get("mcu", "MCU"),
               "clock_freq": get("clock_freq", "CLOCK_FREQ"),
               "adc_max": get("adc_max", "ADC_MAX", default=4095),
               "move_count": get("move_count", "MOVE_COUNT", default=1024),
               "pins": pins}
    missing = [k for k, v in profile.items() if v is None]
    if missing:
        raise DictgenError("profile %s: missing %s" % (name, ", ".join(missing)))
    profile["receive_window"] = get("receive_window", "RECEIVE_WINDOW",
                                    default=_uart_window(profile["mcu"]))
    profile["constants"] = {k: cfg[k] for k in PASSED_CONSTANTS if k in cfg}
    profile["enums"] = {k: v for k, v in raw.get("enumerations", {}).items()
                        if k in PASSED_ENUMS}
    return profile


def load_profiles():
    """The MCU profiles: every chelper/profiles/<name>.json."""
    profiles = []
    for name in profile_names():
        with open(os.path.join(PROFILE_DIR, name + ".json")) as f:
            profiles.append(_normalise_profile(name, json.load(f)))
    return profiles


# ---- outputs ----

def build_dictionary(profile, ids, strings, commands, responses):
    """The data dictionary (a dict in Klipper's JSON shape)."""
    command_fmts = {c[0] for c in commands}
    config = {"CLOCK_FREQ": profile["clock_freq"], "MCU": profile["mcu"],
              "ADC_MAX": profile["adc_max"], "STATS_SUMSQ_BASE": 256}
    if profile.get("receive_window"):
        config["RECEIVE_WINDOW"] = profile["receive_window"]
    config.update(profile.get("constants", {}))
    return {
        "app": "klipsim",
        "build_versions": "klipsim firmware simulator",
        "commands": {f: ids[f] for f in sorted(command_fmts)},
        "responses": {f: ids[f] for f in responses},
        "config": config,
        "enumerations": {
            **profile.get("enums", {}),
            "pin": profile["pins"],
            "static_string_id": {s: i + 1 for i, s in enumerate(strings)},
        },
        "license": "GPL-3.0-or-later",
        "version": "klipsim-fw-1",
    }


def dictionary_bytes(dictionary):
    """Compact JSON with sorted keys, as Klipper's build stores it."""
    return json.dumps(dictionary, sort_keys=True, separators=(",", ":")).encode()


def _c_string(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def _c_bytes(data):
    rows = []
    for i in range(0, len(data), 16):
        rows.append("    " + ", ".join("0x%02x" % b for b in data[i:i + 16]) + ",")
    return "\n".join(rows)


def _types_init(types):
    return "{" + ", ".join(types) + "}" if types else "{0}"


def generate_c(src_dir=SRC_DIR):
    """(C source text, {profile name: dictionary dict})."""
    commands, responses, strings = scan_sources(src_dir)
    ids = assign_ids(commands, responses)
    out = ["/* Generated by firmware/dictgen.py from firmware/src -- do not edit. */",
           '#include "fw.h"', ""]
    for fmt, func, flags in commands:
        out.append("void %s(struct mcu *m, uint32_t *args);" % func)
    out += ["", "static const struct command_entry commands[] = {"]
    for fmt, func, flags in commands:
        types = param_types(fmt)
        out.append("    {%s, %s, %d, %s, %d, %s}," % (
            _c_string(fmt), func, ids[fmt], flags, len(types), _types_init(types)))
    out += ["};", "", "const struct command_entry *const "
            "fw_command_by_id[MSGID_TABLE_SIZE] = {"]
    for i, (fmt, func, flags) in enumerate(commands):
        out.append("    [%d] = &commands[%d]," % (ids[fmt], i))
    out += ["};", "", "const struct response_entry fw_responses[] = {"]
    for fmt in responses:
        types = param_types(fmt)
        out.append("    {%s, %d, %d, %s}," % (_c_string(fmt), ids[fmt], len(types),
                                              _types_init(types)))
    out += ["};", "const int fw_response_count = %d;" % len(responses), "",
            "/* index = static_string_id; 0 is unused */",
            "const char *const fw_static_strings[] = {", '    "",']
    out += ["    %s," % _c_string(s) for s in strings]
    out += ["};", "const int fw_static_string_count = %d;" % (len(strings) + 1), ""]
    dictionaries, entries = {}, []
    for p in load_profiles():
        d = build_dictionary(p, ids, strings, commands, responses)
        dictionaries[p["name"]] = d
        blob = zlib.compress(dictionary_bytes(d), 9)
        var = "dict_" + re.sub(r"\W", "_", p["name"])
        pin_count, bitmap = _pin_bitmap(p["pins"])
        out += ["static const uint8_t %s[] = {" % var, _c_bytes(blob), "};",
                "static const uint8_t %s_pins[] = {" % var, _c_bytes(bitmap), "};"]
        entries.append("    {%s, %s, %d, %d, %d, %d, %d, %d, %s_pins, %s, %d}," % (
            _c_string(p["name"]), _c_string(p["mcu"]), p["clock_freq"],
            p["adc_max"], p["move_count"], pin_count,
            _bus_count(p, "spi_bus"), _bus_count(p, "i2c_bus"), var, var, len(blob)))
    out += ["", "const struct profile_entry fw_profiles[] = {"] + entries + [
        "};", "const int fw_profile_count_ = %d;" % len(entries), ""]
    return "\n".join(out), dictionaries


def write_generated(path, src_dir=SRC_DIR):
    """Write the generated C file (only if its text changed)."""
    text, dictionaries = generate_c(src_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    old = None
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if old != text:
        with open(path, "w") as f:
            f.write(text)
    return dictionaries


if __name__ == "__main__":
    try:
        write_generated(sys.argv[1])
    except DictgenError as e:
        sys.exit("dictgen: %s" % e)
