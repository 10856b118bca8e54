"""Reading the simulator's TOML files with one-line, place-naming errors.

Contract: `load_toml(path)` parses a file (tomllib) or raises `ConfigError`
"<file>: <what>"; `Table` wraps one table and hands out typed values
(`int`, `num` (finite: TOML's nan/inf refused), `str`, `bool`, `choice`,
`int_list`) that raise
`ConfigError("<file>: [section] key: <what is wrong>")`; `finish()` rejects
keys nobody asked for, so a typo never passes silently.  A file that is
not UTF-8 is one line naming the file and the first bad byte.
"""
from __future__ import annotations

import math
import tomllib
from pathlib import Path


class ConfigError(ValueError):
    """A user file is wrong; the message is one line naming file and key."""


_MISSING = object()


def load_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: {e}") from None
    except UnicodeDecodeError as e:     # TOML files are UTF-8 (TOML 1.0)
        raise ConfigError(f"{path}: not UTF-8 text (byte {e.start}: "
                          f"{e.object[e.start:e.start + 1]!r})") from None


def builtin_names(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.toml"))


def find_toml(name_or_path, folder: Path, kind: str, builtin: str) -> Path:
    """A built-in file of `folder` by name, else a TOML file by path;
    one-line error listing the built-ins otherwise."""
    path = folder / f"{name_or_path}.toml"
    if path.is_file():
        return path
    path = Path(name_or_path)
    if path.is_file():
        return path
    raise ConfigError(f"{name_or_path}: no such {kind} file or {builtin} "
                      f"({builtin}s: {', '.join(builtin_names(folder))})")


class Table:
    """Typed access to one TOML table; `where` is e.g. "[kernel]"."""

    def __init__(self, path, where: str, data):
        self.path = path
        self.where = where
        if not isinstance(data, dict):
            self.fail("", "must be a table")
        self.data = data
        self.used: set[str] = set()

    def fail(self, key: str, what: str):
        place = f"{self.where} {key}".strip()
        raise ConfigError(f"{self.path}: {place}: {what}")

    def _get(self, key, default):
        self.used.add(key)
        value = self.data.get(key, default)
        if value is _MISSING:
            self.fail(key, "missing")
        return value

    def int(self, key: str, default=_MISSING, lo=None, hi=None) -> int:
        value = self._get(key, default)
        if type(value) is not int:
            self.fail(key, f"expected an integer, got {value!r}")
        self._range(key, value, lo, hi)
        return value

    def num(self, key: str, default=_MISSING, lo=None, hi=None) -> float:
        value = self._get(key, default)
        if type(value) not in (int, float) or not math.isfinite(value):
            # TOML has nan and inf literals; no duration or rate is either
            self.fail(key, f"expected a finite number, got {value!r}")
        self._range(key, value, lo, hi)
        return float(value)

    def str(self, key: str, default=_MISSING) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            self.fail(key, f"expected a string, got {value!r}")
        return value

    def bool(self, key: str, default=_MISSING) -> bool:
        value = self._get(key, default)
        if type(value) is not bool:
            self.fail(key, f"expected true or false, got {value!r}")
        return value

    def choice(self, key: str, choices, default=_MISSING) -> str:
        value = self.str(key, default)
        if value not in choices:
            self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def int_list(self, key: str, default=_MISSING, lo=None, hi=None):
        value = self._get(key, default)
        if value is None:
            return None
        if not isinstance(value, list) or not value or any(type(v) is not int for v in value):
            self.fail(key, f"expected a non-empty list of integers, got {value!r}")
        for v in value:
            self._range(key, v, lo, hi)
        return value

    def _range(self, key, value, lo, hi):
        if lo is not None and value < lo:
            self.fail(key, f"{value} is below {lo}")
        if hi is not None and value > hi:
            self.fail(key, f"{value} is above {hi}")

    def finish(self) -> None:
        extra = sorted(set(self.data) - self.used)
        if extra:
            self.fail(extra[0], "unknown key")


def top_tables(path, doc: dict, allowed: tuple[str, ...]) -> None:
    """Reject unknown top-level sections."""
    for key in doc:
        if key not in allowed:
            raise ConfigError(f"{path}: [{key}]: unknown section "
                              f"(expected {', '.join(allowed)})")
