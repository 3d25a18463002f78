"""Refused requests in the inbox's audit log: who was turned away (401, 403, 413, 400, 429), from what, and why.

A request that failed on the server (500) is written too, as outcome "error" with the reference the user was given.

Submissions audit themselves (`Inbox.submit` writes one line per attempt); these are the attempts that never
reach the inbox. A caller who floods the service is not allowed to flood the log too: after `burst` refusals with
one status, one line a second is written for that caller and status, and the next line written says how many
refusals it stands for (the counts left at shutdown are written then).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from .limits import RateLimit

AUDITED = {400, 401, 403, 413, 429, 500}
_PREFIXES = ("/xlwings/", "/api/", "/rollup/")


def channel_of(path: str) -> str:
    """The audit log's channel for a request path: the add-in, the upload page, or the rest of the service."""
    if path.startswith("/xlwings/"):
        return "xlwings"
    if path.startswith("/api/submissions"):
        return "upload"
    return "service"


class Refusals:
    """Writes one audit line per refused request, throttled per caller (`write` is `Inbox.audit`)."""

    def __init__(
        self, write: Callable[[dict[str, Any]], None], per_minute: float = 60, burst: int = 60
    ) -> None:
        self.write = write
        self._limit = RateLimit(per_minute=per_minute, burst=burst)
        self._unlogged: dict[str, tuple[int, str]] = {}  # "status caller" -> (refusals not written, who)
        self._lock = threading.Lock()

    def record(
        self,
        *,
        caller: str,
        who: str,
        path: str,
        method: str,
        status: int,
        reason: str,
        department: str | None = None,
        client: str | None = None,
    ) -> bool:
        """Audit one refusal of `caller` (a key id, or the client's address for no valid key); False if only counted."""
        if status not in AUDITED or not path.startswith(_PREFIXES):
            return False
        bucket = f"{status} {caller}"
        with self._lock:
            if self._limit.take(bucket):
                self._unlogged[bucket] = (self._unlogged.get(bucket, (0, who))[0] + 1, who)
                return False
            earlier = self._unlogged.pop(bucket, (0, who))[0]
        entry = {
            "at": dt.datetime.now(dt.UTC).isoformat(),
            "who": who,
            "channel": channel_of(path),
            "outcome": "error" if status >= 500 else "refused",
            "status": status,
            "reason": reason,
            "method": method,
            "path": path,
            "department": department,
            "client": client,
        }
        if earlier:
            entry["unlogged_before"] = (
                earlier  # this caller's refusals with this status counted since the last line
            )
        self.write(entry)
        return True

    def flush(self) -> None:
        """Write the counts of refusals not yet written (at shutdown), so every attempt is accounted for."""
        with self._lock:
            counts, self._unlogged = self._unlogged, {}
        for bucket, (n, who) in counts.items():
            status = bucket.partition(" ")[0]
            self.write(
                {
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                    "who": who,
                    "outcome": "refused",
                    "status": None,
                    "reason": f"{n} further {status} refusals were counted, not written",
                    "unlogged_before": n,
                }
            )


__all__ = ["AUDITED", "Refusals", "channel_of"]
