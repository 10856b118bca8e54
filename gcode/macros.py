"""[gcode_macro] templates: Jinja2 as Klipper's docs/Command_Templates.md
describes them.

Contract:
- `Macro(name, template_text, variables=None, source=None,
  description=None, rename_existing=None)`; `macro.render(params,
  rawparams, printer) -> str` where params is the command's parameter dict,
  rawparams its raw parameter text and printer a mapping of status objects
  (printer.toolhead.position...; nested dicts are reachable as attributes).
  Render problems raise `GCodeError` naming the macro and the template line
  (`macro PRINT_END:3: ...`).
- `parse_variables(options)` turns `variable_*` option texts into values
  (Python literals, Klipper's rule), errors naming the option.
- `MacroSet(dispatcher, printer_status)`: registers macros as commands
  (running their output through `dispatcher.run_script` with pseudo-source
  `<caller place>: macro NAME`, so a line reads
  `input.gcode:5: macro PRINT_START:3`; refusing recursion) and
  SET_GCODE_VARIABLE. `rename_existing` needs the command registered
  (Klipper commands klipsim does not model are there as warning stand-ins,
  gcode/klipper_commands.py).

Environment (Klipper's, restated): statements `{% %}`, expressions `{ }`
(single braces), Jinja2's `do` and loop-control extensions, the context
holding the macro's variables, `params`, `rawparams`, `printer` and the
`action_*` callables; we use the sandboxed environment so a template can
not reach Python internals.  `action_respond_info` and
`action_call_remote_method` only log; `action_raise_error` raises;
`action_emergency_stop` raises too (Klipper would shut down).
"""
import ast

from .errors import GCodeError

_ENV = []   # the one jinja2 environment, made by the first macro


def environment():
    """The sandboxed jinja2 environment, with Klipper's `{ }` and `{% %}`
    delimiters.  jinja2 is imported here, so a config without macros
    never loads it (issue 10: start-up CPU)."""
    if not _ENV:
        from jinja2.sandbox import SandboxedEnvironment
        _ENV.append(SandboxedEnvironment(
            "{%", "%}", "{", "}", extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"]))
    return _ENV[0]


class StatusView(dict):
    """A read-only mapping whose keys are also attributes (printer.toolhead),
    wrapping nested mappings on access, like Klipper's status wrapper."""

    def __init__(self, data):
        super().__init__(data)

    def __getitem__(self, key):
        return _wrap(super().__getitem__(key))

    def get(self, key, default=None):
        return _wrap(super().get(key, default))

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _wrap(value):
    if isinstance(value, dict) and not isinstance(value, StatusView):
        return StatusView(value)
    return value


def parse_literal(text):
    """A SET_GCODE_VARIABLE / variable_* value: a Python literal."""
    return ast.literal_eval(text)


def parse_variables(options, macro_name="macro"):
    """{name: value} from {'variable_name': text}; ValueError names the option."""
    variables = {}
    for option, text in options.items():
        if not option.startswith("variable_"):
            continue
        try:
            variables[option[len("variable_"):]] = parse_literal(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise ValueError("Option '%s' in section 'gcode_macro %s' is not a valid"
                             " literal: %s" % (option, macro_name, _one_line(exc))) from None
    return variables


def _one_line(exc):
    text = str(exc).strip().split("\n")[0]
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


class Macro:
    def __init__(self, name, template_text, variables=None, source=None,
                 description=None, rename_existing=None, log=None):
        self.name = name.upper()        # the command
        self.object_name = "gcode_macro %s" % (name,)   # printer[...]: case kept
        self.source = source or "macro %s" % (self.name,)
        self.variables = dict(variables or {})
        self.description = description or "G-Code macro"
        self.rename_existing = rename_existing
        self.log = log or (lambda text: None)
        import jinja2
        try:
            self.template = environment().from_string(template_text)
        except jinja2.TemplateSyntaxError as exc:
            raise GCodeError("Error loading template: %s" % (exc.message,),
                             "macro %s" % (self.name,), exc.lineno) from None

    @classmethod
    def from_section(cls, section, log=None):
        """A Macro from a config section `[gcode_macro NAME]` (duck-typed:
        name, get(option, default), options(), location(option))."""
        name = section.name.split(None, 1)[1]
        texts = {opt: section.get(opt) for opt in section.options()
                 if opt.startswith("variable_")}
        try:
            variables = parse_variables(texts, name)
        except ValueError as exc:
            bad = str(exc).split("'")[1]
            raise GCodeError(str(exc), section.location(bad)) from None
        return cls(name, section.get("gcode"), variables, section.location("gcode"),
                   section.get("description", None), section.get("rename_existing", None),
                   log)

    def context(self, params, rawparams, printer):
        ctx = dict(self.variables)
        ctx.update({
            "printer": _wrap(dict(printer)) if printer is not None else StatusView({}),
            "params": dict(params),
            "rawparams": rawparams,
            "action_respond_info": self._respond_info,
            "action_raise_error": self._raise_error,
            "action_emergency_stop": self._emergency_stop,
            "action_call_remote_method": self._remote_method,
        })
        return ctx

    def _respond_info(self, msg):
        self.log("// %s" % (msg,))
        return ""

    def _raise_error(self, msg):
        raise GCodeError(str(msg))

    def _emergency_stop(self, msg="action_emergency_stop"):
        raise GCodeError("Emergency stop requested by macro: %s" % (msg,))

    def _remote_method(self, method, **kwargs):
        self.log("remote method %s ignored (no API server)" % (method,))
        return ""

    def render(self, params, rawparams="", printer=None):
        """The G-code text the macro expands to."""
        try:
            return self.template.render(self.context(params, rawparams, printer))
        except GCodeError as exc:
            if exc.source is None:
                raise GCodeError(exc.message, "macro %s" % (self.name,)) from None
            raise
        except Exception as exc:   # any template evaluation problem
            raise GCodeError("Error evaluating macro: %s" % (_one_line(exc),),
                             "macro %s" % (self.name,), _template_line(exc)) from None

    def set_variable(self, variable, value_text):
        """SET_GCODE_VARIABLE: Klipper accepts only existing variables."""
        if variable not in self.variables:
            raise GCodeError("Unknown gcode_macro variable '%s'" % (variable,))
        try:
            literal = parse_literal(value_text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
            raise GCodeError("Unable to parse '%s' as a literal: %s"
                             % (value_text, _one_line(exc))) from None
        variables = dict(self.variables)
        variables[variable] = literal
        self.variables = variables

    def status(self):
        """The macro's entry in `printer` (printer['gcode_macro NAME'])."""
        return dict(self.variables)


def _template_line(exc):
    """Template line of a Jinja2 runtime error, from its traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def script_source(name, cmd):
    """Pseudo-source for the lines a macro expands to: `macro NAME`, after
    the place of the command that called it, so a message reads
    `input.gcode:5: macro PRINT_START:3: ...` (nested calls chain)."""
    if cmd.source is None:
        return "macro %s" % (name,)
    return "%s: macro %s" % (cmd.location, name)


class MacroSet:
    """Macros registered as G-code commands on a Dispatcher.

    printer_status: a callable returning the mapping for `printer` (it is
    called at each macro run, and gets the macros' own variables under
    'gcode_macro NAME' added)."""

    def __init__(self, dispatcher, printer_status=None):
        self.dispatcher = dispatcher
        self.printer_status = printer_status or (lambda: {})
        self.macros = {}
        self._running = set()
        dispatcher.register("SET_GCODE_VARIABLE", self._set_variable,
                            "Set the value of a G-Code macro variable")

    def add_from_config(self, config, log=None):
        """Every [gcode_macro NAME] section of a loaded config (duck-typed:
        config.sections(prefix)), in file order.  Call it after the host's
        own commands are registered: rename_existing needs them (Klipper
        renames at connect time, after loading every object)."""
        for section in config.sections("gcode_macro "):
            self.add(Macro.from_section(section, log))

    def add(self, macro):
        """Register `macro`; with rename_existing, the command it replaces
        moves to the new name (a Klipper command klipsim does not model is
        there as a stand-in: gcode/klipper_commands.register_stand_ins)."""
        name = macro.name
        if macro.rename_existing is not None:
            previous = self.dispatcher.unregister(name)
            if previous is None:
                raise GCodeError("Existing command '%s' not found in gcode_macro rename"
                                 % (name,), macro.source)
            self.dispatcher.register(macro.rename_existing.upper(), previous)
        try:
            self.dispatcher.register(name, lambda cmd: self.run(macro, cmd),
                                     macro.description)
        except ValueError as exc:  # invalid or duplicate command name
            raise GCodeError(str(exc), macro.source) from None
        self.macros[name] = macro

    def printer(self):
        status = dict(self.printer_status())
        for macro in self.macros.values():
            status[macro.object_name] = macro.status()
        return status

    def run(self, macro, cmd):
        if macro.name in self._running:
            raise cmd.error("Macro %s called recursively" % (macro.name,))
        script = macro.render(cmd.params, cmd.raw_params, self.printer())
        self._running.add(macro.name)
        try:
            self.dispatcher.run_script(script, script_source(macro.name, cmd))
        finally:
            self._running.discard(macro.name)

    def _set_variable(self, cmd):
        name = cmd.get("MACRO").upper()
        macro = self.macros.get(name)
        if macro is None:
            raise cmd.error("Unknown gcode_macro '%s'" % (cmd.get("MACRO"),))
        try:
            macro.set_variable(cmd.get("VARIABLE").lower(), cmd.get("VALUE"))
        except GCodeError as exc:
            raise cmd.error(exc.message) from None
