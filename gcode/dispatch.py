"""G-code dispatcher: command names -> handlers, with Klipper's run rules.

Contract:
- `register(name, handler, desc=None)`: handler(cmd: GCodeCommand) -> None;
  `alias(name, existing)`, `unregister(name)` (returns the old handler, for
  rename_existing), `register_mux(name, key, value, handler)` for commands
  such as `SET_PIN PIN=x` shared by several objects.
- `run(command)`: runs one command; a `GCodeError` (from the line itself or
  from the handler) is reported to the error sink as one line
  `file:line: message`, counted, and the run goes on (stop_on_error=True
  gives Klipper batch mode's stop-at-first-error instead); an unknown
  command is a warning `file:line: Unknown command: "FOO"`.  Returns True
  when the command ran without error.
- `run_file(path)` / `run_commands(iterable)` run a whole stream.
- `run_script(text, source)` runs macro-expanded text; each line's place is
  `<source>:<n>`.  As in Klipper, the first error inside a script aborts the
  script and propagates (to the command that ran it), unknown commands only
  warn.
- Any other exception from a handler is a klipsim bug: it is raised as
  `GCodeInternalError` with a one-line message naming the command.
- `errors` / `warnings` count what was reported.
- What Klipper only reports (an unknown command, an info-only refusal such
  as `M204 P800`) is a warning (`warn`), not an error. Every one is passed
  on: grouping repeats by kind (a sliced print can hold thousands of
  `M204 P1000`) is the CLI's job (klipsim.cli_messages).

Klipper behaviours of its default handler that are kept: empty commands
are ignored; `M105` and `M21` are accepted silently; `M104`/`M140` without
a non-zero S, `M107`, and `M106` (Klipper's file-input mode) are accepted
silently when nobody handles them; a command whose name swallowed numbers
(`M117 12 34` is read as the name 'M117 12 34') is passed to M117, M118 or
M23 when they are registered.  Extended names must be upper case letters,
digits and '_', may not start with a digit or have one second, and digits
may only end the name.
"""
from .command import classic_split, is_traditional
from .errors import GCodeError, GCodeInternalError
from .reader import read_gcode, read_lines

# Unknown commands Klipper accepts without a warning (cmd_default).
SILENT_UNKNOWN = ("M105", "M21", "M107", "M106")
_RAW_TEXT_COMMANDS = ("M117", "M118", "M23")
KEEP_MESSAGES = 1000   # default sink keeps this many, counts all


class Dispatcher:
    def __init__(self, warning_sink=None, error_sink=None, info_sink=None,
                 stop_on_error=False, builtins=True):
        self.handlers = {}
        self.help = {}
        self._mux = {}
        self.errors = 0
        self.warnings = 0
        self.stop_on_error = stop_on_error
        self.stopped = False
        self.messages = []   # (kind, text) kept by the default sinks
        self.warning_sink = warning_sink or self._keeper("warning")
        self.error_sink = error_sink or self._keeper("error")
        self.info_sink = info_sink or self._keeper("info")
        if builtins:
            self.register("M110", lambda cmd: None, "Set line number (ignored)")
            self.register("ECHO", lambda cmd: self.info(cmd.text), "Echo the command line")
            self.register("STATUS", lambda cmd: self.info("Klipper state: Ready"),
                          "Report the printer status")
            self.register("HELP", self._cmd_HELP, "Report the list of available extended G-Code commands")

    def _keeper(self, kind):
        def keep(text):
            if len(self.messages) < KEEP_MESSAGES:
                self.messages.append((kind, text))
        return keep

    def _cmd_HELP(self, cmd):
        """Klipper's HELP: every described extended command, sorted."""
        lines = ["Available extended commands:"]
        lines += ["%-10s: %s" % (name, self.help[name]) for name in sorted(self.help)
                  if not is_traditional(name)]
        self.info("\n".join(lines))

    # -- registration --------------------------------------------------
    def register(self, name, handler, desc=None):
        if name in self.handlers:
            raise ValueError("G-code command %s already registered" % (name,))
        if not is_traditional(name) and not valid_extended_name(name):
            raise ValueError("Can't register '%s' as it is an invalid name" % (name,))
        self.handlers[name] = handler
        if desc is not None:
            self.help[name] = desc

    def alias(self, name, existing):
        """Make `name` run the handler of `existing` (e.g. G0 for G1)."""
        self.register(name, self.handlers[existing], self.help.get(existing))

    def unregister(self, name):
        self.help.pop(name, None)
        return self.handlers.pop(name, None)

    def register_mux(self, name, key, value, handler, desc=None):
        """Several handlers under one name, chosen by parameter `key`;
        value None is the handler used when the key is absent."""
        entry = self._mux.get(name)
        if entry is None:
            entry = self._mux[name] = (key, {})
            self.register(name, lambda cmd: self._run_mux(name, cmd), desc)
        if entry[0] != key:
            raise ValueError("mux command %s %s %s may have only one key (%s)"
                             % (name, key, value, entry[0]))
        if value in entry[1]:
            raise ValueError("mux command %s %s %s already registered" % (name, key, value))
        entry[1][value] = handler

    def _run_mux(self, name, cmd):
        key, handlers = self._mux[name]
        chosen = cmd.get(key, None) if None in handlers else cmd.get(key)
        if chosen not in handlers:
            raise cmd.error("The value '%s' is not valid for %s" % (chosen, key))
        handlers[chosen](cmd)

    def has(self, name):
        return name in self.handlers

    # -- reporting -----------------------------------------------------
    def info(self, text):
        self.info_sink(text)

    def warn(self, text):
        self.warnings += 1
        self.warning_sink(text)

    def report_error(self, error):
        self.errors += 1
        self.error_sink(str(error))
        if self.stop_on_error:
            self.stopped = True

    # -- running -------------------------------------------------------
    def run(self, cmd):
        """Run one command; report errors; True when it ran cleanly."""
        try:
            self.execute(cmd)
        except GCodeError as error:
            self.report_error(error.located(cmd.source, cmd.lineno))
            return False
        return True

    def execute(self, cmd):
        """Run one command, raising GCodeError instead of reporting it."""
        if cmd.line_error:
            raise cmd.error(cmd.line_error)
        handler = self.handlers.get(cmd.name)
        if handler is None:
            self._default(cmd)
            return
        if cmd.param_error:
            raise cmd.error(cmd.param_error)
        try:
            handler(cmd)
        except GCodeError:
            raise
        except Exception as exc:
            raise GCodeInternalError("%s: Internal error on command \"%s\": %s: %s"
                                     % (cmd.location, cmd.name, type(exc).__name__, exc)) from exc

    def _default(self, cmd):
        name = cmd.name
        if not name:
            return
        if " " in name:
            real = name.split()[0]
            if real in _RAW_TEXT_COMMANDS and real in self.handlers:
                cmd.name = real   # raw_params now start after the real name
                self.execute(cmd)
                return
        elif name in ("M104", "M140"):
            if not cmd.get_float("S", 0.0):
                return
        elif name in SILENT_UNKNOWN:
            return
        kind = 'Unknown command: "%s"' % (name,)
        self.warn("%s: %s" % (cmd.location, kind))

    def run_commands(self, commands):
        """Run a stream of commands; stops early only with stop_on_error."""
        run = self.run
        for cmd in commands:
            run(cmd)
            if self.stopped:
                break

    def run_file(self, path, source=None):
        self.run_commands(read_gcode(path, source))

    def run_script(self, text, source):
        """Run macro output; the first error aborts and propagates."""
        for cmd in read_lines(text, source):
            try:
                self.execute(cmd)
            except GCodeError as error:
                # a host error (a bound, a move) names the macro line
                raise error.located(cmd.source, cmd.lineno) from None


def valid_extended_name(name):
    """Klipper's rule for registrable extended command names, plus: the
    name must read back as itself (digits only at the end, as
    docs/Command_Templates.md requires; Klipper would register
    'MACRO25_TEST3' but could never call it)."""
    return (name.upper() == name and name.replace("_", "A").isalnum()
            and not name[:1].isdigit() and not name[1:2].isdigit()
            and classic_split(name)[0] == name)
