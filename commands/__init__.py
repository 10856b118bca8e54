"""The click commands of `klipsim`, one module each (cli.py imports one
only when it runs): compile, execute, simulate, sweep, diff, golden."""
