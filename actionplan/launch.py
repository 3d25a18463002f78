"""The `actionplan` command's first step (its console script and `python -m actionplan`).

A command that runs a flow (consolidate, ingest) on Prefect's temporary server waits above all for that server to
start: seconds of importing on a core of its own. So its start comes first, before the CLI and what it imports
(pandas, Prefect), which then overlap it; this module imports nothing heavy to get there (runs.py and settings.py
are light on purpose). Every other command goes straight to the CLI. The commands that import much do it with
Python's garbage collector paused (actionplan/startup.py).
"""

from __future__ import annotations

import sys

FLOW_COMMANDS = frozenset({"consolidate", "ingest"})
# Commands that import much (pandas, Prefect) before their work: the garbage collector is paused for their imports
# (actionplan/startup.py); run_flow and batch.checked_files resume it once they are done.
IMPORTING_COMMANDS = FLOW_COMMANDS | {"submit", "validate"}


def run() -> None:
    args = sys.argv[1:]
    command = args[0] if args and not {"-h", "--help"} & set(args) else None
    if command in IMPORTING_COMMANDS:
        from . import startup

        startup.pause()
    if command in FLOW_COMMANDS:
        from .runs import start_temporary_server

        start_temporary_server()
    from .cli import run as run_command

    run_command()
