"""The door every request body passes: the key checked, the size checked, a fair turn taken, then the body read.

Nothing of a body is read before its sender is known and its turn has come, so a crowd of callers with no key (or
one key sending dozens of large workbooks at once) costs the service a few kilobytes each, not their bodies' worth.
Each access key has `per_key` requests in progress at a time (its body being read, then worked on) and up to
`waiting_per_key` waiting; the work itself (parse, check, answer) has `total` turns service-wide, and when one ends
the next goes to the key that has waited longest, so one department's flood never makes another department wait
behind it. A body that stops arriving is given up after `body_timeout` seconds, and while it is awaited it holds
only its own key's turn.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

PER_KEY = 1  # one check at a time per key: a second would only share the same processor with the first
WAITING_PER_KEY = 30  # a whole team pressing Check at once waits its turn; a script beyond this is refused
TOTAL = 4  # requests with bodies in progress at once, service-wide (each may hold a 25 MB body and its JSON)
BODY_TIMEOUT = 30.0  # seconds a body may pause between two pieces before it is given up
RETRY_AFTER = 5  # seconds a refused caller is asked to wait (about one large check)


class FairQueue:
    """Turns for requests, per key and in all: at most `per_key` and `total` (None: no limit) at once, keys served in
    turn (asyncio); beyond `waiting_per_key` waiting (None: no limit), a key's next request is refused."""

    def __init__(
        self, per_key: int = PER_KEY, total: int | None = TOTAL, waiting_per_key: int | None = WAITING_PER_KEY
    ) -> None:
        self.per_key = per_key
        self.total = total
        self.waiting_per_key = waiting_per_key
        self._running: dict[str, int] = {}
        self._waiting: OrderedDict[str, deque[asyncio.Future]] = OrderedDict()  # keys in the order they wait

    @property
    def in_progress(self) -> int:
        """How many requests hold a turn now."""
        return sum(self._running.values())

    def waiting(self, key: str) -> int:
        """How many of this key's requests wait for a turn."""
        return len(self._waiting.get(key, ()))

    def _room(self) -> bool:
        return self.total is None or self.in_progress < self.total

    def _may_run(self, key: str) -> bool:
        return self._running.get(key, 0) < self.per_key and self._room()

    async def enter(self, key: str) -> bool:
        """Wait for this key's turn; False at once when the key already has `waiting_per_key` requests waiting."""
        if key not in self._waiting and self._may_run(key):
            self._running[key] = self._running.get(key, 0) + 1
            return True
        queue = self._waiting.setdefault(key, deque())
        if self.waiting_per_key is not None and len(queue) >= self.waiting_per_key:
            if not queue:
                del self._waiting[key]
            return False
        turn = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:  # the caller went away while waiting
            if turn.done() and not turn.cancelled():
                self.leave(key)  # the turn was given just as it left: hand it on
            else:
                self._forget(key, turn)
            raise
        return True

    def leave(self, key: str) -> None:
        """Give a turn back and hand the free turns to the keys that have waited longest."""
        left = self._running.get(key, 0) - 1
        if left > 0:
            self._running[key] = left
        else:
            self._running.pop(key, None)
        self._hand_on()

    def _forget(self, key: str, turn: asyncio.Future) -> None:
        queue = self._waiting.get(key)
        if queue is not None and turn in queue:
            queue.remove(turn)
            if not queue:
                del self._waiting[key]

    def _hand_on(self) -> None:
        given = True
        while given and self._room():
            given = False
            for key in list(self._waiting):
                if not self._may_run(key):
                    continue
                queue = self._waiting[key]
                turn = queue.popleft()
                del self._waiting[key]
                if queue:  # its next request goes to the back of the line of keys
                    self._waiting[key] = queue
                self._running[key] = self._running.get(key, 0) + 1
                turn.set_result(None)
                given = True
                break


class FairSlots:
    """At most `n` holders at once, taken in the order asked for (threading.Lock lets a busy thread retake it)."""

    def __init__(self, n: int = 1) -> None:
        self.n = n
        self._cond = threading.Condition(threading.Lock())
        self._next_ticket = 0
        self._serving = 0  # the ticket whose turn is next
        self._inside = 0

    def __enter__(self) -> FairSlots:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            while (
                ticket != self._serving or self._inside >= self.n
            ):  # first come, first in, when a slot is free
                self._cond.wait()
            self._serving += 1
            self._inside += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._cond:
            self._inside -= 1
            self._cond.notify_all()


class RequestGate:
    """ASGI middleware: for each request with a body, the key, the size and a fair turn first, then the body.

    `authenticate(headers)` returns (key id, "") for a valid key, or (None, why) to refuse with 401; it may raise
    KeysUnavailable (503). `on_refuse(scope, status, detail)` is told of each refusal, for the audit log.
    """

    def __init__(
        self,
        app,
        max_bytes: int,
        authenticate: Callable[[dict[str, str]], tuple[str | None, str]],
        on_refuse: Callable[[dict, int, str], None] | None = None,
        per_key: int = PER_KEY,
        waiting_per_key: int = WAITING_PER_KEY,
        total: int = TOTAL,
        body_timeout: float = BODY_TIMEOUT,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.authenticate = authenticate
        self.on_refuse = on_refuse
        # The turn to read a body is per key only (each key's bodies are read one at a time: memory grows with the
        # number of keys sending at once, never with one key's flood, and a key whose body is slow to arrive holds up
        # no one else); the turn to work on a body once read is shared, `total` at once.
        self.queue = FairQueue(per_key=per_key, total=None, waiting_per_key=waiting_per_key)
        self.working = FairQueue(per_key=per_key, total=total, waiting_per_key=None)
        self.body_timeout = body_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length")
        try:
            declared = int(length) if length is not None else None
        except ValueError:
            await self._refuse(scope, send, 400, "The Content-Length header is not a number.")
            return
        try:
            key, why = self.authenticate(headers)
        except KeysUnavailable as exc:
            await self._refuse(scope, send, 503, str(exc))
            return
        if key is None:  # refused before a byte of the body is read: a caller with no key costs nothing
            await self._refuse(scope, send, 401, why, [(b"www-authenticate", b"Bearer")])
            return
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, 413, self._too_big())
            return
        if not await self.queue.enter(key):
            await self._refuse(
                scope,
                send,
                429,
                (
                    f"This access key already has {self.queue.waiting(key) + self.queue.per_key} requests under way or "
                    f"waiting; the service takes {self.queue.per_key} at a time per key. Wait for them to finish and "
                    f"try again in {RETRY_AFTER} seconds."
                ),
                [(b"retry-after", str(RETRY_AFTER).encode())],
            )
            return
        try:
            await self._pass_on(scope, receive, send, key)
        finally:
            self.queue.leave(key)

    async def _pass_on(self, scope, receive, send, key: str) -> None:
        # Read the whole body here (it is at most max_bytes), then hand it on: a chunked upload that grows past
        # the limit, or stops arriving, is refused before any endpoint sees it.
        chunks, total = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                seconds = math.ceil(self.body_timeout)
                plural = "s" if seconds != 1 else ""
                await self._refuse(
                    scope,
                    send,
                    408,
                    f"The workbook stopped arriving (nothing for {seconds} "
                    f"second{plural}), so it was not read. Check the connection "
                    "and send it again.",
                    close=True,
                )
                return
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                chunks.clear()
                await self._refuse(scope, send, 413, self._too_big())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        chunks.clear()
        sent = False

        async def replay():
            nonlocal sent, body
            if not sent:
                sent = True
                message, body = {"type": "http.request", "body": body, "more_body": False}, b""
                return message
            return await receive()

        # Only now a turn at the work itself (`total` at once): a key whose body is slow to arrive holds up no one.
        await self.working.enter(key)
        try:
            await self.app(scope, replay, send)
        finally:
            self.working.leave(key)

    def _too_big(self) -> str:
        mb = self.max_bytes / (1024 * 1024)
        return (
            f"The workbook is larger than the {mb:g} MB this service accepts. Remove unused sheets, rows or "
            "pictures and try again, or ask corporate performance to raise max_upload_mb."
        )

    async def _refuse(
        self,
        scope,
        send,
        status: int,
        detail: str,
        extra: list[tuple[bytes, bytes]] | None = None,
        close: bool = False,
    ) -> None:
        if self.on_refuse is not None:
            self.on_refuse(scope, status, detail)
        body = json.dumps({"detail": detail}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *(extra or []),
        ]
        # The connection stays open otherwise: the server discards the unread body as it arrives (holding none
        # of it), and the caller reads the answer instead of a reset connection.
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class KeysUnavailable(Exception):
    """Access keys cannot be checked just now (the keys file is damaged); the service's fault, not the caller's."""


__all__ = [
    "BODY_TIMEOUT",
    "PER_KEY",
    "TOTAL",
    "WAITING_PER_KEY",
    "FairSlots",
    "FairQueue",
    "KeysUnavailable",
    "RequestGate",
]
