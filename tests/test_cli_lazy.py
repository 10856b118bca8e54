"""The lazy `klipsim` group (cli.py): `--help` lists every command with the
short help its module's docstring gives, each command's --help works, and
a profile's pins read without parsing it (mcu_pick's start-up shortcut)
match the fully loaded profile's."""
import importlib

import pytest
from click.testing import CliRunner

from klipsim import cli
from klipsim.chelper import msgproto

NAMES = ["compile", "diff", "execute", "golden", "simulate", "sweep"]


def _loaded(name):
    module, attr, _ = cli.COMMANDS[name]
    return getattr(importlib.import_module("klipsim." + module), attr)


def test_help_lists_every_command():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed if line.strip()] == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_listed_short_help_matches_the_command(name):
    # What `--help` lists (from cli.COMMANDS, nothing imported) is what
    # click would list from the command's own docstring.
    for limit in (45, 60):
        assert cli.short_help(name, limit) == _loaded(name).get_short_help_str(limit)


@pytest.mark.parametrize("name", NAMES)
def test_each_command_help(name):
    result = CliRunner().invoke(cli.main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage: main %s [OPTIONS]" % name)


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli.main, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command 'frobnicate'" in result.output


@pytest.mark.parametrize("name", msgproto.profile_names())
def test_profile_pins_match_the_loaded_profile(name):
    assert msgproto.profile_pins(name) == set(msgproto.Dictionary.load(
        msgproto.PROFILE_DIR + "/" + name + ".json").pins)

