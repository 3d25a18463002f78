"""What one caller may send and how often: the workbook JSON's shape within bounds, and a rate per access key.

The body limit (bytes) is `gate.RequestGate`; these bound what fits inside it. A 25 MB body of small cells is
millions of Python objects, and a 50,000-row sheet of errors takes the check minutes: refuse such shapes with
words before the check sees them, and never let one key hold the check lock for everyone else.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from actionplan.read import MAX_ROWS

from .xlbook import BadPayload, checked_payload

MAX_SHEETS = 255  # far beyond any department's workbook; Excel itself slows to a crawl long before
MAX_CELLS = 1_000_000  # 100,000 rows (the reader's MAX_ROWS) of ten columns
# Check, Submit, Get council rollup and uploads, per access key: 60 at once, then one a second. Generous for people
# (a click is one request); a script or a runaway client is slowed to the pace the check can serve anyway.
REQUESTS_PER_MINUTE = 60
BURST = 60

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadTooLarge(ValueError):
    """The workbook JSON has more sheets, rows or cells than the service reads."""


def _column(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def payload_from_body(body: bytes) -> dict[str, Any]:
    """The request body as xlwings workbook JSON within the limits; BadPayload or PayloadTooLarge, in words, if not."""
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise BadPayload(
            "The request body is not valid JSON (it is nested too deeply to be a workbook). The "
            "actionplan add-in sends the workbook as JSON: update it, or check the request."
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        where = (
            f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            if isinstance(exc, json.JSONDecodeError)
            else ""
        )
        raise BadPayload(
            f"The request body is not valid JSON{where}. The actionplan add-in sends the workbook as "
            "JSON: update it, or check the request."
        ) from None
    payload = checked_payload(payload)
    _check_bounds(payload["sheets"])
    # JSON may escape half a UTF-16 pair ("\ud800"), which no file can store: look only when the body has one.
    if _SURROGATE_ESCAPE.search(body):
        _check_text(payload)
    return payload


def _check_bounds(sheets: list[dict[str, Any]]) -> None:
    if not sheets:
        raise BadPayload("The workbook JSON has no sheets; update the actionplan add-in and try again.")
    if len(sheets) > MAX_SHEETS:
        raise PayloadTooLarge(
            f"The workbook has {len(sheets):,} sheets; the service reads at most {MAX_SHEETS}. "
            "Copy the plan's sheets into a workbook of their own and submit that."
        )
    cells = 0
    for sheet in sheets:
        values = sheet.get("values") or []
        if len(values) > MAX_ROWS:
            raise PayloadTooLarge(
                f"Sheet '{sheet['name']}' has content down to row {len(values):,}, far below any action plan (at "
                f"most {MAX_ROWS:,} rows are read). Delete the rows below your plan (select them, right-click > "
                "Delete) and save; in Excel, Ctrl+End shows the last used cell."
            )
        cells += sum(len(row) for row in values)
        if cells > MAX_CELLS:
            raise PayloadTooLarge(
                f"The workbook has more than {MAX_CELLS:,} cells in use (sheet '{sheet['name']}' takes it past "
                "the limit); no action plan is that large. Delete unused rows and columns (Ctrl+End shows the "
                "last used cell) or sheets that are not part of the plan, and try again."
            )
    for sheet in sheets:
        for r, row in enumerate(sheet.get("values") or []):
            for c, value in enumerate(row):
                kind = type(value)
                if kind is str or kind is bool or value is None:
                    continue
                where = f"Sheet '{sheet['name']}' cell {_column(c + 1)}{r + 1}"
                if kind is int or kind is float:
                    try:
                        finite = math.isfinite(float(value))
                    except OverflowError:
                        finite = False
                    if not finite:
                        raise BadPayload(
                            f"{where} holds a number too large for Excel. Correct the cell and try again."
                        )
                    continue
                raise BadPayload(
                    f"{where} holds a {'list' if kind is list else 'JSON object'}, not a cell value. "
                    "The actionplan add-in sends values only: update it, or check the request."
                )


def _check_text(payload: dict[str, Any]) -> None:
    def bad(text: Any) -> bool:
        if not isinstance(text, str):
            return False
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    for sheet in payload["sheets"]:
        if bad(sheet["name"]):
            raise BadPayload(
                "A sheet name holds a broken character (half of a UTF-16 pair). Rename the sheet and "
                "try again."
            )
        for r, row in enumerate(sheet.get("values") or []):
            for c, value in enumerate(row):
                if bad(value):
                    raise BadPayload(
                        f"Sheet '{sheet['name']}' cell {_column(c + 1)}{r + 1} holds a broken character "
                        "(half of a UTF-16 pair, often left by copying part of an emoji). Retype the "
                        "cell's text and try again."
                    )
    if bad(json.dumps(payload.get("book"), ensure_ascii=False)):
        raise BadPayload(
            "The workbook's name holds a broken character (half of a UTF-16 pair). Save it under a "
            "plain name and try again."
        )


class RateLimit:
    """A token bucket per key: `burst` requests at once, then `per_minute` a minute; thread-safe."""

    def __init__(
        self,
        per_minute: float = REQUESTS_PER_MINUTE,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens left, when counted)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when the key may go ahead (one request counted); else the seconds until it may."""
        with self._lock:
            now = self.clock()
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if len(self._buckets) > 10_000:  # forget keys whose buckets have refilled: memory stays bounded
                full = self.burst / self.rate
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full}
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


__all__ = [
    "BURST",
    "MAX_CELLS",
    "MAX_SHEETS",
    "REQUESTS_PER_MINUTE",
    "PayloadTooLarge",
    "RateLimit",
    "payload_from_body",
]
