"""CLI commands of the service: `serve` and `token` (filled in by the add-in work)."""

from __future__ import annotations


def add_commands(sub) -> None:
    """Register the service's subcommands on the `actionplan` parser."""
