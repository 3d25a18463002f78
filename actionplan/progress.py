"""Progress of long work (files checked, departments written, sheets written): a rich bar on a terminal, one
plain line per step when output is not a terminal (CI, cron), nothing at all when nobody is watching.

The core reports steps with `begin`/`advance`; only the CLI chooses how they are shown (`shown`), so a flow run by
a worker or the service reports to nobody. One module-level reporter, not a context variable: Prefect may run a
flow's tasks in other threads of the same process.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO


class _Nobody:
    def begin(self, task: str, total: int | None) -> None: ...

    def advance(self, task: str, what: str | None = None) -> None: ...


class _Lines:
    """Non-terminal output: one line a step, `<task> n/total: what`, flushed (a log reader sees it at once)."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.counts: dict[str, list[int | None]] = {}

    def begin(self, task: str, total: int | None) -> None:
        self.counts[task] = [0, total]

    def advance(self, task: str, what: str | None = None) -> None:
        done, total = self.counts.setdefault(task, [0, None])
        done = (done or 0) + 1
        self.counts[task][0] = done
        of = f"/{total}" if total else ""
        # write, not print: inside a flow with log_prints, Prefect turns print() into log records.
        self.out.write(f"{task} {done}{of}" + (f": {what}" if what else "") + "\n")
        self.out.flush()


class _Bars:
    """A terminal: a rich progress bar per task, printed output scrolling above them."""

    def __init__(self, out: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[what]}"),
            TimeElapsedColumn(),
            console=Console(file=out),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def begin(self, task: str, total: int | None) -> None:
        if task in self.tasks:
            self.progress.reset(self.tasks[task], total=total, what="")
        else:
            self.tasks[task] = self.progress.add_task(task, total=total, what="")

    def advance(self, task: str, what: str | None = None) -> None:
        if task not in self.tasks:
            self.begin(task, None)
        self.progress.update(self.tasks[task], advance=1, what=what or "")


_reporter: Any = _Nobody()
_lock = threading.Lock()


def begin(task: str, total: int | None = None) -> None:
    """A piece of long work starts: `task` names what is counted ("files checked"), total how many there are."""
    with _lock:
        _reporter.begin(task, total)


def advance(task: str, what: str | None = None) -> None:
    """One more step of the task done (what: the file, department or sheet it was)."""
    with _lock:
        _reporter.advance(task, what)


def is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


@contextmanager
def shown(out: TextIO | None = None) -> Iterator[None]:
    """Show the progress reported inside the block on out (default stderr): bars on a terminal, lines otherwise."""
    global _reporter
    stream = out or sys.stderr
    previous = _reporter
    reporter = _Bars(stream) if is_terminal(stream) else _Lines(stream)
    _reporter = reporter
    try:
        if isinstance(reporter, _Bars):
            with reporter.progress:
                yield
        else:
            yield
    finally:
        _reporter = previous


# Progress of work done in another process (the GX validation's), sent over its stdout as tab-separated lines:
# `relayed` installs the sender there, `relay` replays a line here, to whoever this process reports to.
RELAY_PREFIX = "actionplan-progress"


class _Relay:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def _send(self, *fields: str) -> None:
        self.out.write(
            "\t".join((RELAY_PREFIX, *(f.replace("\t", " ").replace("\n", " ") for f in fields))) + "\n"
        )
        self.out.flush()

    def begin(self, task: str, total: int | None) -> None:
        self._send("begin", task, "" if total is None else str(total))

    def advance(self, task: str, what: str | None = None) -> None:
        self._send("advance", task, what or "")


@contextmanager
def relayed(out: TextIO) -> Iterator[None]:
    """In a worker process: report progress as lines on out, for the parent's relay()."""
    global _reporter
    previous, _reporter = _reporter, _Relay(out)
    try:
        yield
    finally:
        _reporter = previous


def relay(line: str) -> bool:
    """Replay one line a relayed() worker wrote; False for any other line."""
    fields = line.rstrip("\n").split("\t")
    if len(fields) != 4 or fields[0] != RELAY_PREFIX:
        return False
    _, kind, task, value = fields
    if kind == "begin":
        begin(task, int(value) if value.isdigit() else None)
    elif kind == "advance":
        advance(task, value or None)
    return True
