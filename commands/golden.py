"""`klipsim golden`: check (or --update) the approved example outputs."""
import sys

import click

from ..golden import examples


@click.command("golden")
@click.option("--update", is_flag=True, help="rewrite the golden files and show the diff")
def golden_command(update):
    """Compare the bundled examples' compiled streams with golden/examples/."""
    changed = examples.update() if update else examples.check()
    for example, diff in changed:
        click.echo(diff, nl=False)
    verb = "updated" if update else "differ"
    click.echo("%d of %d golden files %s" % (len(changed), len(examples.EXAMPLES), verb))
    if changed and not update:
        sys.exit(1)
