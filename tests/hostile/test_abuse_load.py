"""Hostile load against `actionplan serve` on loopback: a crowd with no key sending 24 MB bodies, and one key flooding
the check while another department works. Bounded in count (100 bodies, 45 checks) and loopback only.

Figures (the server's memory, the other department's latency) are measured and printed for the record (run with
-s to see them); only correctness is asserted: every request answered, with the status it should have.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from actionplan.excel_addin.gate import WAITING_PER_KEY
from actionplan.excel_addin.tokens import TokenStore
from tests.conftest import ACTION_HEADER
from tests.test_service import _free_port

ROOT = Path(__file__).resolve().parents[2]
BODY = 24 * 1024 * 1024


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith(f"{field}:"))) / 1024


class _Sampler:
    """The server's resident memory, sampled every 20 ms while a load runs (its peak over the run)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`actionplan serve` as its own process, with its default settings (25 MB bodies), and two departments' keys."""
    home = tmp_path_factory.mktemp("abuse") / "home"
    port = _free_port()
    store = TokenStore.for_home(home)
    keys = {"flood": store.add(department="Finance")[1], "other": store.add(department="Registrars")[1]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "actionplan", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "ACTIONPLAN_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.stderr.read()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the service did not start"
        time.sleep(0.2)
    yield {"url": url, "port": port, "pid": proc.pid, "keys": keys}
    proc.terminate()
    proc.wait(timeout=30)


def _record(name: str, figures: dict) -> None:
    print(f"\n{name}: {json.dumps(figures)}")


async def _unauthenticated_upload(port: int) -> int:
    """One POST declaring a 24 MB body with no key, the whole body pushed while the answer is read; its status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"POST /xlwings/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {BODY}\r\n\r\n".encode()
    )
    chunk = b" " * (1024 * 1024)

    async def push():
        try:
            for _ in range(BODY // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass  # the server may close once it has answered: the body was never wanted

    pushing = asyncio.create_task(push())
    status_line = await asyncio.wait_for(reader.readline(), 120)
    await pushing
    writer.close()
    return int(status_line.split()[1])


def test_hundred_unauthenticated_24mb_bodies_are_refused_in_bounded_memory(served):
    before = _rss_mb(served["pid"])

    async def crowd():
        return await asyncio.gather(*(_unauthenticated_upload(served["port"]) for _ in range(100)))

    started = time.monotonic()
    with _Sampler(served["pid"]) as rss:
        statuses = asyncio.run(crowd())
    took = time.monotonic() - started
    time.sleep(1)
    after = _rss_mb(served["pid"])
    assert statuses == [401] * 100
    assert httpx.get(f"{served['url']}/healthz").json() == {"status": "ok"}
    _record(
        "unauthenticated_24mb_x100",
        {
            "rss_before_mb": round(before),
            "rss_peak_mb": round(rss.peak),
            "rss_after_mb": round(after),
            "seconds": round(took, 1),
            "bytes_sent_mb": 100 * BODY // (1024 * 1024),
        },
    )


def _errors_plan(rows: int) -> bytes:
    values = [ACTION_HEADER] + [
        [f"A{i}", "o", "t", "Do it", "", "31/11/17", "", "Greenish", ""] for i in range(rows)
    ]
    return json.dumps(
        {
            "client": "Office.js",
            "book": {"name": "flood.xlsx"},
            "names": [],
            "sheets": [
                {
                    "name": "Plan",
                    "values": [["Department", "Finance"], ["Plan", "P"], ["Period", "2024/25 Q2"]],
                },
                {"name": "Actions", "values": values},
            ],
        }
    ).encode()


def _one_row_plan() -> bytes:
    return json.dumps(
        {
            "client": "Office.js",
            "book": {"name": "mine.xlsx"},
            "names": [],
            "sheets": [
                {
                    "name": "Plan",
                    "values": [["Department", "Registrars"], ["Plan", "P"], ["Period", "2024/25 Q2"]],
                },
                {
                    "name": "Actions",
                    "values": [
                        ACTION_HEADER,
                        ["R1", "o", "t", "Register births", "R Khan", "31/03/2025", "", "G", "On track"],
                    ],
                },
            ],
        }
    ).encode()


@pytest.mark.slow  # a minute or more: `make test-fast` leaves it out
def test_one_keys_flood_does_not_make_another_department_wait(served):
    flood_body, mine = _errors_plan(30_000), _one_row_plan()
    url, keys = served["url"], served["keys"]
    timings: dict[str, list[float]] = {"other_check": [], "status": [], "healthz": []}

    async def flood(client: httpx.AsyncClient):
        return await asyncio.gather(
            *(
                client.post(
                    "/xlwings/check",
                    content=flood_body,
                    headers={"Authorization": keys["flood"], "Content-Type": "application/json"},
                )
                for _ in range(45)
            )
        )

    async def meanwhile(client: httpx.AsyncClient, flooding: asyncio.Task):
        answers = []
        await asyncio.sleep(2)  # the flood is under way
        while not flooding.done() or len(answers) < 5:
            t = time.monotonic()
            r = await client.post(
                "/xlwings/check",
                content=mine,
                headers={"Authorization": keys["other"], "Content-Type": "application/json"},
            )
            timings["other_check"].append(time.monotonic() - t)
            answers.append(r)
            for name, path in (("status", "/api/status"), ("healthz", "/healthz")):
                t = time.monotonic()
                assert (await client.get(path, headers={"Authorization": keys["other"]})).status_code == 200
                timings[name].append(time.monotonic() - t)
            if len(answers) >= 40:
                break
            await asyncio.sleep(0.5)
        return answers

    async def run():
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with (
            httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as a,
            httpx.AsyncClient(base_url=url, timeout=600) as b,
        ):
            flooding = asyncio.create_task(flood(a))
            answers = await meanwhile(b, flooding)
            return await flooding, answers

    started = time.monotonic()
    with _Sampler(served["pid"]) as rss:
        flooded, answers = asyncio.run(run())
    took = time.monotonic() - started

    codes = [r.status_code for r in flooded]
    assert (
        set(codes) <= {200, 429} and codes.count(200) >= 1 + WAITING_PER_KEY
    )  # one in progress, the rest queued
    for r in flooded:
        if r.status_code == 429:
            assert r.headers["retry-after"] == "5" and r.json()["detail"].startswith(
                "This access key already has "
            )
        else:
            alert = next(a["args"][0] for a in r.json()["actions"] if a["func"] == "alert")
            assert alert.startswith("Check found 1,001 errors")
    for r in answers:
        assert r.status_code == 200
        alert = next(a["args"][0] for a in r.json()["actions"] if a["func"] == "alert")
        assert alert.startswith("Check passed")

    def summary(values: list[float]) -> dict:
        ordered = sorted(values)
        return {
            "n": len(ordered),
            "median_s": round(ordered[len(ordered) // 2], 2),
            "max_s": round(ordered[-1], 2),
        }

    _record(
        "one_key_floods_45_checks_of_30000_error_rows",
        {
            "flood_answered_200": codes.count(200),
            "flood_refused_429": codes.count(429),
            "other_department_check": summary(timings["other_check"]),
            "api_status": summary(timings["status"]),
            "healthz": summary(timings["healthz"]),
            "rss_peak_mb": round(rss.peak),
            "seconds": round(took, 1),
        },
    )


def test_sixty_authenticated_24mb_bodies_from_one_key_hold_one_at_a_time(served):
    # A small valid workbook padded with whitespace to 24 MB: each body must be read whole and parsed.
    body = _one_row_plan().replace(b'"Registrars"', b'"Finance"')
    body += b" " * (BODY - len(body))

    async def flood():
        limits = httpx.Limits(max_connections=60, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=served["url"], timeout=600, limits=limits) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        "/xlwings/check",
                        content=body,
                        headers={
                            "Authorization": served["keys"]["flood"],
                            "Content-Type": "application/json",
                        },
                    )
                    for _ in range(60)
                )
            )

    started = time.monotonic()
    with _Sampler(served["pid"]) as rss:
        answers = asyncio.run(flood())
    took = time.monotonic() - started
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 429} and codes.count(200) >= 1 + WAITING_PER_KEY
    for r in answers:
        if r.status_code == 200:
            alert = next(a["args"][0] for a in r.json()["actions"] if a["func"] == "alert")
            assert alert.startswith("Check passed")
    _record(
        "one_key_60_authenticated_24mb",
        {
            "answered_200": codes.count(200),
            "refused_429": codes.count(429),
            "rss_peak_mb": round(rss.peak),
            "seconds": round(took, 1),
        },
    )
