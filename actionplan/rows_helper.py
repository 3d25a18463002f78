"""A helper process that makes the first half of a big table's row XML while the rollup's own process makes the rest.

Serialising a 100,000-row Actions sheet (xlsx_rows.rows_text: one str.format a row) is seconds of one core. So
write_rows hands the first half of a table of OFFLOAD_FROM cells or more to this process (`python -m
actionplan.rows_helper`, started once per process and kept), pickled: the column letters, the values and each
cell's format index. The helper appends the rows' XML to the worksheet's own row file (xlsxwriter's
constant_memory temporary file), made by the very same function write_rows calls for the second half, so the
workbook is byte for byte the same.

Until the helper says it is done, the worksheet's row file is a _Spliced in front of the real one: rows written
meanwhile (the second half, a table below) go to a file of their own, appended after the helper's; anything else
(the workbook reading the rows back at close) waits for the helper first. If the helper fails or has gone, the rows
are made here instead, from the same job, after what it may have written is cut off: a rollup never depends on the
helper being there. One core, or ACTIONPLAN_ROWS_HELPER=0: no helper at all.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from io import BytesIO
from typing import Any

from . import background

OFFLOAD_FROM = 100_000  # cells: below this, pickling and handing a table over saves less than it costs
_LENGTH = 8  # bytes of a job's length before its pickle, on the helper's stdin


class RowsHelperFailed(Exception):
    """The helper could not make a job's rows (it said why, or it is gone)."""


class _Look:
    """A cell format as the helper needs it: xlsxwriter's Format reduced to its xf index."""

    __slots__ = ("xf_index",)

    def __init__(self, xf_index: int) -> None:
        self.xf_index = xf_index

    def _get_xf_index(self) -> int:
        return self.xf_index


def _blank() -> object:
    from .xlsx_rows import BLANK

    return BLANK


class _Pickler(pickle.Pickler):
    """Formats go as their xf index (numbered before the hand-over) and xlsx_rows.BLANK as itself; the rest, plain
    values and lists, as pickle has them (one copy of a repeated object, by pickle's memo)."""

    def reducer_override(self, obj: Any) -> Any:
        from xlsxwriter.format import Format

        from .xlsx_rows import BLANK

        if obj.__class__ is Format:
            return _Look, (obj._get_xf_index(),)
        if obj is BLANK:
            return _blank, ()
        return NotImplemented


def _dumps(item: Any) -> bytes:
    out = BytesIO()
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(item)
    return out.getvalue()


class _Helper:
    """The helper process and the two threads that talk to it: jobs go out in order (a thread writes them, so a
    full pipe never holds up the caller) and their answers come back in the same order."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._lock = threading.Lock()
        self._waiting: deque[Future[None]] = deque()
        self._outgoing: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._gone: str | None = None
        self.handed = 0  # jobs handed over (the tests' evidence that the helper made the rows)
        threading.Thread(target=self._send, name="rows-helper-send", daemon=True).start()
        threading.Thread(target=self._receive, name="rows-helper-receive", daemon=True).start()

    def submit(self, path: str, job: tuple) -> Future[None]:
        """Have the helper append job's rows to the file at path; the future is done when they are there."""
        data = _dumps((path, job))
        done: Future[None] = Future()
        with self._lock:
            if self._gone is not None:
                done.set_exception(RowsHelperFailed(self._gone))
                return done
            self._waiting.append(done)
            self.handed += 1
            self._outgoing.put(len(data).to_bytes(_LENGTH, "little") + data)
        return done

    def alive(self) -> bool:
        return self._gone is None and self.proc.poll() is None

    def idle(self) -> bool:
        """No job handed over and not yet done."""
        with self._lock:
            return not self._waiting

    def _send(self) -> None:
        assert self.proc.stdin is not None
        try:
            while (data := self._outgoing.get()) is not None:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            self.proc.stdin.close()
        except (OSError, ValueError):
            self._fail("the helper process stopped taking jobs")

    def _receive(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                done = self._waiting.popleft() if self._waiting else None
            if done is None:
                continue
            answer = line.decode("utf-8", "replace").strip()
            if answer == "ok":
                done.set_result(None)
            else:
                done.set_exception(RowsHelperFailed(answer))
        self._fail(f"the helper process exited (code {self.proc.wait()})")

    def _fail(self, why: str) -> None:
        with self._lock:
            self._gone = self._gone or why
            waiting, self._waiting = list(self._waiting), deque()
        for done in waiting:
            if not done.done():
                done.set_exception(RowsHelperFailed(why))

    def stop(self) -> None:
        """No more jobs: it exits once its stdin closes; one still in a job is killed (its process is leaving)."""
        self._outgoing.put(None)
        with self._lock:
            busy = bool(self._waiting)
        if busy and self.proc.poll() is None:
            self.proc.kill()


_helper: _Helper | None = None
_helper_lock = threading.Lock()


def start() -> _Helper | None:
    """The helper process, started now if it is not running (so its start overlaps the caller's work), or None
    where there is no other core to give it, or ACTIONPLAN_ROWS_HELPER=0."""
    global _helper
    if os.environ.get("ACTIONPLAN_ROWS_HELPER", "1") == "0" or background.usable_cores() < 2:
        return None
    with _helper_lock:
        if _helper is None or not _helper.alive():
            try:
                _helper = _Helper()
            except OSError:
                return None
            atexit.register(_helper.stop)
        return _helper


class _Spliced:
    """A worksheet's row file while the helper appends a table's rows to it. Rows written meanwhile (a table below
    it) go to a file of their own, appended after the helper's once it is done; anything else (the workbook
    reading the rows back at close) first waits for the helper, or makes the rows here if the helper failed. The
    worksheet then has its own file back."""

    def __init__(self, ws: Any, fh: Any, done: Future[None], job: tuple, size: int) -> None:
        self._ws, self._fh, self._size = ws, fh, size
        self._done: Future[None] | None = done
        self._job: tuple = job  # kept until joined: the rows are made here from it if the helper fails
        # What was written while the helper worked: a temporary file, made on first use.
        self._after: Any = None

    def write(self, text: str) -> int:
        if self._done is None:
            return self._fh.write(text)
        if self._after is None:
            self._after = tempfile.TemporaryFile(
                mode="w+", encoding="utf-8", dir=os.path.dirname(self._fh.name) or None
            )
        return self._after.write(text)

    def join(self) -> None:
        """Wait for the helper's rows (or make them here), then put what was written meanwhile after them."""
        if self._done is None:
            return
        done, job = self._done, self._job
        self._done, self._job = None, ()
        try:
            done.result()
        except Exception:
            from .xlsx_rows import rows_text

            self._fh.flush()
            os.truncate(self._fh.name, self._size)  # cut off anything of a job it did not finish
            self._fh.seek(0, os.SEEK_END)
            for text in rows_text(*job):
                self._fh.write(text)
        else:
            self._fh.seek(0, os.SEEK_END)  # past what the helper appended
        if self._after is not None:
            self._after.seek(0)
            shutil.copyfileobj(self._after, self._fh, 1 << 20)
            self._after.close()
            self._after = None
        if self._ws.row_data_fh is self:
            self._ws.row_data_fh = self._fh
        if self._ws.fh is self:
            self._ws.fh = self._fh

    def __getattr__(self, name: str) -> Any:
        self.join()
        return getattr(self._fh, name)


def offload(ws: Any, job: tuple) -> bool:
    """Hand job (xlsx_rows.rows_text's arguments) to the helper, to be appended to ws's row file; False where there
    is no helper, or ws's row file is not one it can append to (the caller then writes the rows itself)."""
    current = ws.fh
    if (
        isinstance(current, _Spliced)
        or current is None
        or current is not ws.row_data_fh
        or not isinstance(getattr(current, "name", None), str)
    ):
        return False  # not xlsxwriter's row file, or rows already handed over for it (these go after them)
    helper = start()
    if helper is None or not helper.idle():
        # Busy with another table: this one is made here meanwhile, so neither waits for the other.
        return False
    current.flush()
    size = os.fstat(current.fileno()).st_size
    done = helper.submit(current.name, job)
    ws.row_data_fh = ws.fh = _Spliced(ws, current, done, job, size)
    return True


def _serve() -> int:
    """The helper's loop: a job (its length, then its pickle) from stdin, its rows appended to the file it names,
    then "ok" (or "error …") on stdout; until stdin closes."""
    from .xlsx_rows import rows_text

    jobs, answers = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = jobs.read(_LENGTH)
        if len(head) < _LENGTH:
            return 0
        data = jobs.read(int.from_bytes(head, "little"))
        try:
            path, job = pickle.loads(data)
            # Opened as xlsxwriter opens the row file (text, UTF-8, the platform's newlines): the same bytes.
            with open(path, "a", encoding="utf-8") as fh:
                for text in rows_text(*job):
                    fh.write(text)
            answer = "ok"
        except Exception as exc:  # told to the caller, which makes the rows itself
            answer = f"error {type(exc).__name__}: {exc}".replace("\n", " ")
        answers.write(answer.encode("utf-8") + b"\n")
        answers.flush()


if __name__ == "__main__":
    sys.exit(_serve())
