"""`klipsim diff REF CAND`: step-level comparison of two command streams.

Options pick the dictionary for serial streams and the MCU clock
frequency (to turn ticks into microseconds): --dictionary FILE, else
--mcu PROFILE, else the `meta.json` of a reference case folder holding
REF (golden/klipper/<case>/); --cand-dictionary overrides it for CAND.
Exit status 0 when equivalent, 1 when not or on an input error (one
line), 2 on a usage error. The last output line is the verdict.
"""
import json
import os
import sys

import click

from klipsim.chelper import msgproto
from klipsim.cli_files import EXIT_INPUT, Inputs
from klipsim.golden import stepdiff


def _case_dictionary(path):
    """The dictionary named by a reference case's meta.json next to `path`."""
    meta_path = os.path.join(os.path.dirname(os.path.abspath(path)), "meta.json")
    if not os.path.exists(meta_path):
        return None
    with open(meta_path) as f:
        meta = json.load(f)
    name = meta.get("dictionary")
    if not name:
        return None
    dict_path = os.path.join(os.path.dirname(os.path.dirname(meta_path)), name)
    return msgproto.Dictionary.load(dict_path) if os.path.exists(dict_path) else None


def resolve_dictionary(ref, dictionary, mcu):
    if dictionary:
        return msgproto.load_dictionary(dictionary)
    if mcu:
        return msgproto.load_profile(mcu)
    return _case_dictionary(ref)


@click.command("diff")
@click.argument("ref", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.argument("cand", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--tol-us", type=float, default=stepdiff.DEFAULT_TOL_US, show_default=True,
              help="Largest allowed step time difference in microseconds.")
@click.option("--dictionary", "dictionary", default=None,
              help="Data dictionary file (or profile name) for both streams.")
@click.option("--mcu", default=None,
              help="MCU profile (%s) for serial decoding and CLOCK_FREQ."
                   % ", ".join(msgproto.profile_names()))
@click.option("--cand-dictionary", default=None,
              help="Dictionary file (or profile name) for CAND only, when its "
                   "message ids differ from REF's (e.g. klipsim firmware's).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def diff_command(ref, cand, tol_us, dictionary, mcu, cand_dictionary, as_json):
    """Compare the step pulses of two MCU command streams (text, serial or
    jsonl; one of them may be - for stdin)."""
    with Inputs() as inputs:
        try:
            ref, cand = inputs.path(ref), inputs.path(cand)
            dic = resolve_dictionary(ref, dictionary, mcu)
            clock_freq = dic.clock_freq if dic is not None else 0
            if not clock_freq:
                raise ValueError("%s: CLOCK_FREQ unknown; give --dictionary or --mcu" % ref)
            cand_dic = msgproto.load_dictionary(cand_dictionary) if cand_dictionary else dic
            report = stepdiff.diff_files(ref, cand, clock_freq, tol_us, dic, cand_dic)
        except (ValueError, KeyError, OSError) as e:
            click.echo("Error: %s" % inputs.user_text(str(e.args[0] if e.args else e)),
                       err=True)
            sys.exit(EXIT_INPUT)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1))
    else:
        click.echo("\n".join(report.lines()))
    sys.exit(0 if report.equivalent else 1)
