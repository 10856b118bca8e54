"""The package installs with its compiled C helpers and its command."""
from click.testing import CliRunner

from klipsim.cli import main


def test_chelper_is_compiled_and_current():
    from klipsim.chelper import _chelper
    assert _chelper.lib.klipsim_chelper_abi() == 1


def test_cli_help_lists_itself():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output
