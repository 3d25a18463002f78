"""The gate before every request body: key and size first, a fair turn per key, a body that stalls given up.

Real servers on loopback; requests written on raw sockets where the point is what the server does before (or
without) reading a body.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest

from actionplan.excel_addin.gate import RETRY_AFTER, WAITING_PER_KEY, FairQueue, RequestGate
from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer, _free_port, post_json, xlwings_payload


def _open(url_port: int, path: str, key: str | None, length: int) -> socket.socket:
    """A connection that has sent a POST's headers (declaring `length` bytes of body) and none of its body."""
    s = socket.create_connection(("127.0.0.1", url_port), timeout=60)
    auth = f"Authorization: {key}\r\n" if key else ""
    s.sendall(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {length}\r\n\r\n".encode()
    )
    return s


def _answer(s: socket.socket) -> tuple[int, dict[str, str], dict]:
    """Status, headers and JSON body of the one response on a connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"connection closed with no answer: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(rest) < int(headers["content-length"]):
        rest += s.recv(65536)
    return int(lines[0].split()[1]), headers, json.loads(rest)


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    with LiveServer(tmp_path_factory.mktemp("gate") / "home") as server:
        yield server


def test_gate_refuses_a_missing_key_before_reading_any_body(srv):
    # 24 MB declared, not a byte sent: the answer comes without the body (before, the server waited for all of it).
    with _open(srv.port, "/xlwings/check", None, 24 * 1024 * 1024) as s:
        status, headers, body = _answer(s)
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert body == {
        "detail": "No access key was sent. Type your department's access key into the actionplan pane."
    }


def test_gate_refuses_a_wrong_key_and_keeps_the_connection_for_the_next_request(srv):
    key = srv.token("Registrars")[1]
    with _open(srv.port, "/xlwings/check", "abcd.not-a-key", 5) as s:
        assert _answer(s)[0] == 401
        s.sendall(b"12345")  # the refused body, discarded as it arrives
        s.sendall(f"GET /api/status HTTP/1.1\r\nHost: x\r\nAuthorization: {key}\r\n\r\n".encode())
        status, _, body = _answer(s)
    assert status == 200 and body["you"]["department"] == "Registrars"


def test_gate_refuses_a_declared_size_over_the_limit_before_reading_it(srv):
    key = srv.token("Finance")[1]
    with _open(srv.port, "/xlwings/submit", key, 26 * 1024 * 1024) as s:
        status, _, body = _answer(s)
    assert status == 413
    assert body["detail"] == (
        "The workbook is larger than the 25 MB this service accepts. Remove unused sheets, "
        "rows or pictures and try again, or ask corporate performance to raise max_upload_mb."
    )


def test_gate_queues_one_keys_flood_refuses_beyond_it_and_lets_another_key_through(srv, tmp_path):
    flooder = srv.token("Print Section")[1]
    other = srv.token("Customer Services")[1]
    # One request holds the key's turn (its body never comes); the next ones wait; one more is refused.
    held = [_open(srv.port, "/xlwings/check", flooder, 1000) for _ in range(1 + WAITING_PER_KEY)]
    try:
        with _open(srv.port, "/xlwings/check", flooder, 1000) as s:
            status, headers, body = _answer(s)
        assert status == 429 and headers["retry-after"] == str(RETRY_AFTER)
        assert body == {
            "detail": f"This access key already has {WAITING_PER_KEY + 1} requests under way or "
            "waiting; the service takes 1 at a time per key. Wait for them to finish and try "
            f"again in {RETRY_AFTER} seconds."
        }
        book = canonical_workbook(tmp_path / "cs.xlsx", "Customer Services", [action("C1")])
        answer = post_json(srv, "/xlwings/check", xlwings_payload(book), other)
        assert answer.status_code == 200
        assert srv.client.get("/healthz").json() == {"status": "ok"}
    finally:
        for s in held:
            s.close()
    lines = [e for e in _audit(srv) if e.get("status") == 429]
    assert lines[-1]["who"].startswith("Print Section (key ") and lines[-1]["reason"].startswith(
        "This access key"
    )


def _audit(server: LiveServer) -> list[dict]:
    from actionplan.warehouse.inbox import Inbox

    return Inbox(server.settings.inbox_path, server.settings.archive_path).audit_log()


def _settles(condition, within: float = 10.0) -> None:
    """Wait for a condition the server reaches just after answering (its turn is given back after the reply)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "the gate never gave the turn back"
        time.sleep(0.01)


class _GateServer:
    """A RequestGate in front of a tiny app that answers 200 with the body's length, under uvicorn on loopback."""

    def __init__(self, **gate_options) -> None:
        import uvicorn

        self.seen: list[str] = []

        async def app(scope, receive, send):
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                return
            body = (await receive())["body"]
            self.seen.append(scope["path"])
            answer = json.dumps({"got": len(body)}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(answer)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": answer})

        self.gate = RequestGate(
            app,
            max_bytes=1000,
            authenticate=lambda h: (h["authorization"], "") if h.get("authorization") else (None, "no key"),
            **gate_options,
        )
        self.port = _free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(self.gate, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _GateServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_gate_gives_up_a_body_that_stops_arriving():
    with _GateServer(body_timeout=0.5) as srv:
        with _open(srv.port, "/slow", "k", 100) as s:
            s.sendall(b"x" * 10)  # a tenth of the body, then nothing
            status, headers, body = _answer(s)
        assert status == 408 and headers["connection"] == "close"
        assert body == {
            "detail": "The workbook stopped arriving (nothing for 1 second), so it was not read. Check "
            "the connection and send it again."
        }
        assert srv.seen == []  # the endpoint never saw the half body
        _settles(
            lambda: srv.gate.queue.in_progress + srv.gate.working.in_progress == 0
        )  # its turn was given back


def test_gate_a_body_slow_to_arrive_holds_up_no_other_key():
    # One turn of work service-wide; one key's body stalls; another key is still served at once.
    with _GateServer(total=1) as srv:
        with _open(srv.port, "/stalled", "slow-key", 100) as stalled:
            stalled.sendall(b"x" * 10)
            with _open(srv.port, "/quick", "other-key", 5) as quick:
                quick.sendall(b"12345")
                status, _, body = _answer(quick)
            assert (status, body) == (200, {"got": 5})
            _settles(
                lambda: srv.gate.queue.in_progress == 1
            )  # the stalled one still holds its own key's turn
        assert srv.seen == ["/quick"]


# -- the queue itself ------------------------------------------------------------------------------------------------


def test_fair_queue_serves_keys_in_turn_not_in_arrival_order():
    async def scenario():
        queue = FairQueue(per_key=1, total=1, waiting_per_key=3)
        order = []

        async def request(key: str, n: int):
            assert await queue.enter(key)
            order.append(f"{key}{n}")
            await asyncio.sleep(0)
            queue.leave(key)

        assert await queue.enter("A")  # A holds the only turn; A's flood and B's one request wait
        tasks = [asyncio.create_task(request("A", n)) for n in range(1, 4)]
        await asyncio.sleep(0)
        tasks.append(asyncio.create_task(request("B", 1)))
        await asyncio.sleep(0)
        assert await queue.enter("A") is False  # a fourth waiting request of A's is refused
        queue.leave("A")
        await asyncio.gather(*tasks)
        return order, queue.in_progress

    order, left = asyncio.run(scenario())
    assert order == ["A1", "B1", "A2", "A3"]  # B went second, not after all of A's
    assert left == 0


def test_fair_queue_gives_a_cancelled_waiters_turn_to_the_next():
    async def scenario():
        queue = FairQueue(per_key=1, total=1, waiting_per_key=5)
        assert await queue.enter("A")
        gone = asyncio.create_task(queue.enter("B"))
        after = asyncio.create_task(queue.enter("C"))
        await asyncio.sleep(0)
        gone.cancel()
        await asyncio.sleep(0)
        queue.leave("A")
        assert await after is True
        return queue.in_progress, queue.waiting("B")

    assert asyncio.run(scenario()) == (1, 0)


@pytest.mark.parametrize("n", [1, 2])
def test_fair_slots_let_n_in_at_once_in_the_order_they_asked(n):
    from actionplan.excel_addin.gate import FairSlots

    slots = FairSlots(n)
    entered, inside, most = [], [0], [0]
    guard = threading.Lock()
    release = threading.Event()

    def holder(k: int):
        with slots:
            with guard:
                entered.append(k)
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            release.wait()
            with guard:
                inside[0] -= 1

    threads = []
    for k in range(6):
        threads.append(threading.Thread(target=holder, args=(k,)))
        threads[-1].start()
        while slots._next_ticket <= k:  # each asks before the next one does
            time.sleep(0.001)
    while len(entered) < n:
        time.sleep(0.001)
    time.sleep(0.05)  # time for a wrong one to slip in, if the slots let it
    assert sorted(entered) == list(range(n))  # n inside; the others wait
    release.set()
    for t in threads:
        t.join(timeout=10)
    assert most[0] == n and sorted(entered) == list(range(6))
    if n == 1:
        assert entered == list(range(6))  # one at a time: strictly in the order asked
