"""The `actionplan` command's first step (its console script and `python -m actionplan`).

A command that runs a flow (consolidate, ingest) on Prefect's temporary server waits above all for that server to
start: seconds of importing on a core of its own. So its start comes first, before the CLI and what it imports
(pandas, Prefect), which then overlap it; this module imports nothing heavy to get there (runs.py and settings.py
are light on purpose). Every other command goes straight to the CLI.
"""

from __future__ import annotations

import sys

FLOW_COMMANDS = frozenset({"consolidate", "ingest"})


def run() -> None:
    args = sys.argv[1:]
    if args and args[0] in FLOW_COMMANDS and not {"-h", "--help"} & set(args):
        from .runs import start_temporary_server

        start_temporary_server()
    from .cli import run as run_command

    run_command()
