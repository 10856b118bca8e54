"""Reader for Klipper's printer.cfg dialect.

Contract: `load_config(path) -> PrinterConfig`.  Every problem is a
`ConfigError` whose str() is one line naming the place
(`printer.cfg:23: Option 'foo' is not valid in section 'stepper_x'`).
Options are typed on read (`sec.getfloat(...)`, Klipper's getters with
its minval/maxval/above/below ranges and messages; numbers must be finite:
nan and inf are "Unable to parse"), reading an option present
in the file marks it used, and `config.check_unused()` rejects sections and
options nobody read, as Klipper does at start-up.

The dialect, as Klipper reads it (its config reader feeds Python's
configparser with strict=False and inline comment prefixes ';' and '#',
after cutting every line at its first '#' itself); restated here:
- `[name]` / `[type name]` section headers; `key: value` or `key = value`
  (split at the first ':' or '='); option names are case-insensitive
  (lower-cased), section names are kept as written;
- `#` starts a comment anywhere on a line; `;` starts a comment at the
  start of a line or after white space; full-line comments may be indented;
- a line indented deeper than its option line continues the value (each
  continuation line is stripped; blank lines inside a value are kept as
  empty lines; trailing blank lines are dropped);
- a section or option given twice: the later options override, the
  section keeps its first position;
- `[include pattern]`: the glob is relative to the including file's folder,
  matches are read in sorted order at that point; no match is an error
  unless the pattern has wildcards; including a file that is already being
  read is an error; after an include, options need a new section header;
- the SAVE_CONFIG block (`#*#` lines after Klipper's exact 3-line header at
  the end of the main file) is read after everything else, so its values
  override; its options count as used.
"""
import glob
import os
import re

from ..gcode.command import finite_float, magnitude_problem
from .pins import PinError, parse_pin

REQUIRED = object()

# Klipper's SAVE_CONFIG header (klippy/configfile.py AUTOSAVE_HEADER): the
# block is only honoured when these exact lines precede it.
AUTOSAVE_HEADER = ("\n#*# <---------------------- SAVE_CONFIG ---------------------->"
                   "\n#*# DO NOT EDIT THIS BLOCK OR BELOW. The contents are auto-generated."
                   "\n#*#\n")

_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<option>.*?)\s*[=:]\s*(?P<value>.*)$")
_BOOLEANS = {"1": True, "yes": True, "true": True, "on": True,
             "0": False, "no": False, "false": False, "off": False}


class ConfigError(Exception):
    """A printer.cfg problem; str() is one line, `where: message`."""

    def __init__(self, message, where=None):
        super().__init__(message)
        self.message = message
        self.where = where

    def __str__(self):
        return self.message if self.where is None else "%s: %s" % (self.where, self.message)


class _Option:
    __slots__ = ("name", "lines", "source", "lineno", "indent", "autosave")

    def __init__(self, name, value, source, lineno, indent, autosave):
        self.name = name
        self.lines = [value]
        self.source = source
        self.lineno = lineno
        self.indent = indent
        self.autosave = autosave

    @property
    def value(self):
        return "\n".join(self.lines).rstrip()

    @property
    def where(self):
        return "%s:%d" % (self.source, self.lineno)


class _Section:
    __slots__ = ("name", "options", "source", "lineno")

    def __init__(self, name, source, lineno):
        self.name = name
        self.options = {}
        self.source = source
        self.lineno = lineno


class _Parser:
    """Builds the ordered section table from the main file and includes."""

    def __init__(self, main_path):
        self.main_dir = os.path.dirname(os.path.abspath(main_path))
        self.sections = {}
        self.warnings = []
        self.reading = set()
        self.files = []

    def display_name(self, path):
        rel = os.path.relpath(os.path.abspath(path), self.main_dir)
        return rel if not rel.startswith("..") else path

    def read_file(self, path, where=None):
        try:
            # utf-8-sig: a leading byte-order mark (some Windows editors
            # write one) is not part of the first line
            with open(path, "r", encoding="utf-8-sig") as handle:
                data = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ConfigError("Unable to open config file %s: %s" % (path, reason),
                              where) from None
        self.files.append(os.path.abspath(path))
        return data.replace("\r\n", "\n")

    def parse_main(self, path):
        data = self.read_file(path)
        regular, autosave, autosave_first_line = split_autosave(data, self.warnings)
        self.parse_text(regular, path, 1, autosave=False)
        if autosave:
            self.parse_text(autosave, path, autosave_first_line, autosave=True)

    def parse_text(self, text, path, first_lineno, autosave):
        real = os.path.abspath(path)
        source = self.display_name(path)
        if real in self.reading:
            raise ConfigError("Recursive include of config file '%s'" % (source,))
        self.reading.add(real)
        state = _LineState()
        for lineno, line in enumerate(text.split("\n"), first_lineno):
            line = line.split("#", 1)[0]
            match = _SECTION_RE.match(line)
            if match and match.group("header").startswith("include "):
                self.include(path, match.group("header")[8:].strip(),
                             "%s:%d" % (source, lineno))
                state = _LineState()  # Klipper parses each chunk afresh
                continue
            self.parse_line(state, line, source, lineno, autosave)
        self.reading.discard(real)

    def include(self, including_path, spec, where):
        pattern = os.path.join(os.path.dirname(including_path), spec)
        names = glob.glob(pattern)
        if not names and not glob.has_magic(pattern):
            raise ConfigError("Include file '%s' does not exist" % (pattern,), where)
        for name in sorted(names):
            self.parse_text(self.read_file(name, where), name, 1, autosave=False)

    def parse_line(self, state, line, source, lineno, autosave):
        cut = _comment_start(line)
        value = line[:cut].strip()
        if not value:
            if cut == len(line) and state.option is not None:
                state.option.lines.append("")
            return
        indent = len(line) - len(line.lstrip())
        if state.option is not None and indent > state.option.indent:
            state.option.lines.append(value)
            return
        where = "%s:%d" % (source, lineno)
        header = _SECTION_RE.match(value)
        if header:
            name = header.group("header")
            state.section = self.sections.get(name)
            if state.section is None:
                state.section = self.sections[name] = _Section(name, source, lineno)
            state.option = None
            return
        if state.section is None:
            raise ConfigError("Option line '%s' is not inside a [section]" % (value,), where)
        match = _OPTION_RE.match(value)
        if match is None or not match.group("option"):
            raise ConfigError("Unable to parse line '%s' (expected 'option: value')"
                              % (value,), where)
        name = match.group("option").rstrip().lower()
        option = _Option(name, match.group("value").strip(), source, lineno,
                         indent, autosave)
        state.section.options[name] = option
        state.option = option


class _LineState:
    __slots__ = ("section", "option")

    def __init__(self):
        self.section = None
        self.option = None


def _comment_start(line):
    """Index where a ';' comment starts (configparser's inline rule: at the
    start of the line or after white space; full-line comments may be
    indented), or len(line)."""
    pos = line.find(";")
    while pos >= 0:
        if pos == 0 or line[pos - 1].isspace():
            return pos
        pos = line.find(";", pos + 1)
    return len(line)


def split_autosave(data, warnings):
    """(regular text, autosave text, first line number of autosave text).

    The autosave text has the '#*# ' prefixes removed; it is '' when there
    is no valid SAVE_CONFIG block (a damaged block is ignored with a
    warning, as Klipper does)."""
    pos = data.find(AUTOSAVE_HEADER)
    if pos < 0:
        return data, "", 0
    regular = data[:pos]
    if "\n#*# " in regular:
        warnings.append("SAVE_CONFIG block ignored: '#*#' lines before its header")
        return data, "", 0
    body_start = pos + len(AUTOSAVE_HEADER)
    first_line = data.count("\n", 0, body_start) + 1
    out = []
    for line in data[body_start:].rstrip().split("\n"):
        if not line.startswith("#*#") or (len(line) >= 4 and not line.startswith("#*# ")):
            if line.strip():
                warnings.append("SAVE_CONFIG block ignored: a line in it does not"
                                " start with '#*# '")
                return data, "", 0
        out.append(line[4:])
    return regular, "\n".join(out), first_line


class ConfigSection:
    """Typed access to one section; reading an option marks it used."""

    def __init__(self, config, data):
        self.config = config
        self._data = data
        self.name = data.name

    def __repr__(self):
        return "ConfigSection(%r)" % (self.name,)

    # -- bookkeeping ---------------------------------------------------
    def location(self, option=None):
        """'file:line' of an option (or of the section header)."""
        if option is not None:
            found = self._data.options.get(option.lower())
            if found is not None:
                return found.where
        return "%s:%d" % (self._data.source, self._data.lineno)

    def has_option(self, option):
        return option.lower() in self._data.options

    def options(self):
        """Option names present in the file, in file order."""
        return list(self._data.options)

    def raw(self, option, default=None):
        """An option's text without marking it used (for status dumps)."""
        found = self._data.options.get(option.lower())
        return default if found is None else found.value

    def error(self, message, option=None):
        return ConfigError(message, self.location(option))

    def _lookup(self, option, default):
        self.config._note_section(self.name)
        found = self._data.options.get(option.lower())
        if found is None:
            if default is REQUIRED:
                raise self.error("Option '%s' in section '%s' must be specified"
                                 % (option, self.name))
            return None
        self.config._note_used(self.name, found.name)
        return found

    def _typed(self, option, default, parser, kind, minval=None, maxval=None,
               above=None, below=None):
        found = self._lookup(option, default)
        if found is None:
            return default
        try:
            value = parser(found.value)
        except ConfigError:
            raise
        except (ValueError, TypeError, OverflowError):
            raise ConfigError("Unable to parse option '%s' in section '%s' as %s: '%s'"
                              % (option, self.name, kind, found.value), found.where) from None
        self._check_range(found, option, value, minval, maxval, above, below)
        return value

    def _check_range(self, found, option, value, minval, maxval, above, below):
        problem = magnitude_problem(value)
        if problem:
            raise ConfigError("Option '%s' in section '%s'%s" % (option, self.name, problem),
                              found.where)
        checks = ((minval, lambda: value < minval, "must have minimum of"),
                  (maxval, lambda: value > maxval, "must have maximum of"),
                  (above, lambda: value <= above, "must be above"),
                  (below, lambda: value >= below, "must be below"))
        for limit, failed, words in checks:
            if limit is not None and failed():
                raise ConfigError("Option '%s' in section '%s' %s %s"
                                  % (option, self.name, words, limit), found.where)

    # -- typed getters (Klipper's ConfigWrapper names and semantics) ----
    def get(self, option, default=REQUIRED):
        found = self._lookup(option, default)
        return default if found is None else found.value

    def getint(self, option, default=REQUIRED, minval=None, maxval=None):
        return self._typed(option, default, int, "an integer", minval, maxval)

    def getfloat(self, option, default=REQUIRED, minval=None, maxval=None,
                 above=None, below=None):
        """A finite number: nan and inf are refused as unparsable (they
        pass every `<`/`>` range check, then fail deep inside)."""
        return self._typed(option, default, finite_float, "a number", minval,
                           maxval, above, below)

    def getpin(self, option, default=REQUIRED, can_invert=False, can_pullup=False):
        """A pin description parsed (host/pins.py PinSpec, or `default`
        when absent); a malformed one is a ConfigError at the option."""
        text = self.get(option, default)
        if text is default:
            return default
        return pin_at(text, self.name, option, self.location(option), can_invert, can_pullup)

    def getboolean(self, option, default=REQUIRED):
        return self._typed(option, default, _parse_bool, "a boolean")

    def getchoice(self, option, choices, default=REQUIRED):
        """Value mapped through `choices` (dict), or checked against a list.
        Integer dict keys make the option read as an integer (Klipper)."""
        mapping = choices if isinstance(choices, dict) else {c: c for c in choices}
        keys = list(mapping)
        if keys and isinstance(keys[0], int):
            value = self.getint(option, default)
        else:
            value = self.get(option, default)
        if value not in mapping:
            raise ConfigError("Choice '%s' for option '%s' in section '%s' is not a valid"
                              " choice" % (value, option, self.name), self.location(option))
        return mapping[value]

    def getlist(self, option, default=REQUIRED, sep=",", count=None):
        return self._getlist(option, default, sep, count, str, "a list")

    def getintlist(self, option, default=REQUIRED, sep=",", count=None):
        return self._getlist(option, default, sep, count, int, "a list of integers")

    def getfloatlist(self, option, default=REQUIRED, sep=",", count=None):
        return self._getlist(option, default, sep, count, finite_float,
                             "a list of numbers")

    def _getlist(self, option, default, sep, count, parser, kind):
        def parse(text):
            items = tuple(parser(part.strip()) for part in text.split(sep))
            for item in items:
                problem = magnitude_problem(item)
                if problem:
                    raise self.error("Option '%s' in section '%s'%s"
                                     % (option, self.name, problem), option)
            if count is not None and len(items) != count:
                raise ConfigError("Option '%s' in section '%s' must have %d elements"
                                  % (option, self.name, count), self.location(option))
            return items
        return self._typed(option, default, parse, kind)


def pin_at(text, section_name, option, where, can_invert=False, can_pullup=False):
    """parse_pin(text), a malformed pin being a ConfigError at `where`."""
    try:
        return parse_pin(text, can_invert=can_invert, can_pullup=can_pullup)
    except PinError as e:
        raise ConfigError("Option '%s' in section '%s': %s" % (option, section_name, e),
                          where) from None


def _parse_bool(text):
    try:
        return _BOOLEANS[text.lower()]
    except KeyError:
        raise ValueError("not a boolean") from None


class PrinterConfig:
    """All sections of a loaded config (main file, includes, SAVE_CONFIG)."""

    def __init__(self, path, sections, files, warnings):
        self.path = path
        self._sections = sections
        self.files = files          # every file read, main file first
        self.warnings = warnings    # non-fatal problems (damaged SAVE_CONFIG)
        self._used_sections = set()
        self._used_options = set()
        for section in sections.values():
            for option in section.options.values():
                if option.autosave:  # Klipper never rejects SAVE_CONFIG values
                    self._note_used(section.name, option.name)

    def _note_section(self, name):
        self._used_sections.add(name)

    def _note_used(self, section, option):
        self._used_sections.add(section)
        self._used_options.add((section, option))

    def has_section(self, name):
        return name in self._sections

    def section(self, name):
        """The section (marks it as handled); ConfigError if missing."""
        data = self._sections.get(name)
        if data is None:
            raise ConfigError("Section '%s' not found in %s" % (name, os.path.basename(self.path)))
        self._note_section(name)
        return ConfigSection(self, data)

    def sections(self, prefix=""):
        """Sections whose name starts with `prefix`, in file order (not
        marked handled until an option of theirs is read)."""
        return [ConfigSection(self, data) for name, data in self._sections.items()
                if name.startswith(prefix)]

    def section_names(self):
        return list(self._sections)

    def unused(self):
        """[(where, message)] for every section and option nobody read."""
        found = []
        for name, data in self._sections.items():
            if name not in self._used_sections:
                found.append(("%s:%d" % (data.source, data.lineno),
                              "Section '%s' is not a valid config section" % (name,)))
                continue
            for option in data.options.values():
                if (name, option.name) not in self._used_options:
                    found.append((option.where, "Option '%s' is not valid in section '%s'"
                                  % (option.name, name)))
        return found

    def check_unused(self):
        """ConfigError for the first section or option nobody read (Klipper
        stops at the first; `unused()` lists them all)."""
        problems = self.unused()
        if problems:
            where, message = problems[0]
            if len(problems) > 1:
                message += " (and %d more)" % (len(problems) - 1,)
            raise ConfigError(message, where)


def load_config(path):
    """Read a printer.cfg (with its includes and SAVE_CONFIG block)."""
    parser = _Parser(path)
    parser.parse_main(path)
    return PrinterConfig(str(path), parser.sections, parser.files, parser.warnings)
