"""Deadline day: many submissions at once, and a warehouse that is locked or busy. Nothing lost, everyone answered.

Real servers on loopback and real processes holding the DuckDB file; the ingest flow is a real Prefect flow run.
"""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from actionplan.check import check_workbook
from actionplan.errors import WarehouseUnavailable
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests.conftest import action, canonical_workbook
from tests.test_service import LiveServer, post_json, xlwings_payload

PERIOD = "2024/25 Q2"
DEPARTMENTS = [
    "Finance",
    "Legal, HR & Property",
    "Registrars",
    "Print Section",
    "Customer Services",
    "Children's Services",
]


def _alert(response: httpx.Response) -> str:
    return next(a["args"][0] for a in response.json()["actions"] if a["func"] == "alert")


async def _send_all(url: str, jobs: list[tuple[str, str, str, bytes]]) -> list[httpx.Response]:
    """Every job's request at once (one connection each), answered in any order."""
    limits = httpx.Limits(max_connections=len(jobs), max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:

        def send(kind: str, key: str, body: bytes):
            if kind == "upload":
                return client.post(
                    "/api/submissions", files={"file": ("plan.xlsx", body)}, headers={"Authorization": key}
                )
            return client.post(
                "/xlwings/submit",
                content=body,
                headers={"Authorization": key, "Content-Type": "application/json"},
            )

        return await asyncio.gather(*(send(kind, key, body) for _, kind, key, body in jobs))


def test_sixty_concurrent_submissions_store_each_distinct_one_once(tmp_path):
    with LiveServer(tmp_path / "home") as server:
        jobs = []  # (group, kind, key, body): five identical requests per group, twelve groups
        for i, dept in enumerate(DEPARTMENTS):
            key = server.token(dept)[1]
            upload = canonical_workbook(
                tmp_path / f"u{i}.xlsx", dept, [action(f"U{n}") for n in range(i + 1)]
            )
            # Each department's Excel workbook differs from its upload; Finance's has an error and is rejected.
            rows = [action(f"X{n}", status="Greenish" if i == 0 else "G") for n in range(i + 2)]
            payload = xlwings_payload(canonical_workbook(tmp_path / f"x{i}.xlsx", dept, rows))
            for _ in range(5):
                jobs.append((f"upload {dept}", "upload", key, upload.read_bytes()))
                jobs.append((f"xlwings {dept}", "xlwings", key, json.dumps(payload).encode()))
        random.Random(42).shuffle(jobs)
        assert len(jobs) == 60

        answers = asyncio.run(_send_all(server.url, jobs))

        assert [r.status_code for r in answers] == [200] * 60
        by_group: dict[str, list[httpx.Response]] = defaultdict(list)
        for (group, _, _, _), r in zip(jobs, answers, strict=True):
            by_group[group].append(r)
        upload_ids = set()
        for group, responses in by_group.items():
            if group.startswith("upload"):
                bodies = [r.json() for r in responses]
                assert sorted(b["new"] for b in bodies) == [False] * 4 + [True]
                assert len({b["submission_id"] for b in bodies}) == 1
                assert all(b["message"].endswith("it was not stored twice.") for b in bodies if not b["new"])
                upload_ids.add(bodies[0]["submission_id"])
            elif group == "xlwings Finance":
                assert all(_alert(r).startswith("Rejected: 2 errors, nothing was stored") for r in responses)
            else:
                alerts = sorted(_alert(r) for r in responses)
                assert sum("Stored for the council rollup" in a for a in alerts) == 1, alerts
                assert sum("it was not stored twice" in a for a in alerts) == 4, alerts

        # Each distinct accepted workbook is in the inbox exactly once; every attempt left one audit line.
        audit = Inbox(server.settings.inbox_path, server.settings.archive_path).audit_log()
        assert len(audit) == 60
        assert Counter((e["channel"], e["outcome"]) for e in audit) == {
            ("upload", "accepted"): 6,
            ("upload", "duplicate"): 24,
            ("xlwings", "accepted"): 5,
            ("xlwings", "duplicate"): 20,
            ("xlwings", "rejected"): 5,
        }
        accepted = [e["submission_id"] for e in audit if e["outcome"] == "accepted"]
        assert {p.stem for p in server.pending()} == set(accepted) and len(server.pending()) == len(
            accepted
        ) == 11
        assert upload_ids <= set(accepted)
        assert {e["submission_id"] for e in audit if e["outcome"] == "duplicate"} <= set(accepted)
        assert {e["who"].partition(" (key ")[0] for e in audit} == set(DEPARTMENTS)
        assert len(server.rejected()) == 5


# -- the warehouse locked or busy ------------------------------------------------------------------------------------


class Holder:
    """Another process holding the DuckDB file open for writing (as a running ingest or consolidate does)."""

    def __init__(self, path: str) -> None:
        code = (
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
            "sys.stdin.read(); c.close()"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


@pytest.fixture
def hold():
    """hold(path) locks the warehouse file from another process until `.release()` (or the test's end)."""
    holders: list[Holder] = []

    def start(path: str) -> Holder:
        holders.append(Holder(path))
        return holders[-1]

    yield start
    for h in holders:
        h.release()


def test_warehouse_locked_submissions_still_accepted_and_loaded_after(tmp_path, hold):
    with LiveServer(tmp_path / "home") as server:
        s = server.settings
        open_warehouse(s.warehouse_url).close()  # the warehouse exists: ingest has run before
        holder = hold(s.warehouse_url)
        with pytest.raises(WarehouseUnavailable):  # really locked: no other writer can open it
            open_warehouse(s.warehouse_url).close()

        key = server.token("Finance")[1]
        upload = canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1"), action("F2")])
        r = server.client.post(
            "/api/submissions",
            files={"file": ("f.xlsx", upload.read_bytes())},
            headers={"Authorization": key},
        )
        assert r.status_code == 200 and r.json()["stored"] is True
        excel = canonical_workbook(tmp_path / "f2.xlsx", actions=[action("F1"), action("F2"), action("F3")])
        r2 = post_json(server, "/xlwings/submit", xlwings_payload(excel), key)
        assert r2.status_code == 200 and "Stored for the council rollup" in _alert(r2)

        status = server.client.get(f"/api/status?period={PERIOD}", headers={"Authorization": key})
        assert status.status_code == 200
        assert status.json()["source"] == "inbox only (warehouse busy)"
        finance = next(d for d in status.json()["departments"] if d["department"] == "Finance")
        assert (finance["status"], finance["current"]["state"]) == ("submitted", "waiting to load")
        assert len(server.pending()) == 2

        holder.release()
        wh = open_warehouse(s.warehouse_url)
        try:
            result = load_inbox(Inbox(s.inbox_path, s.archive_path), wh)
        finally:
            wh.close()
        assert sorted(result.loaded) == sorted(
            e["submission_id"]
            for e in Inbox(s.inbox_path, s.archive_path).audit_log()
            if e["outcome"] == "accepted"
        )
        assert len(result.loaded) == 2 and result.failed == {} and server.pending() == []
        after = server.client.get(f"/api/status?period={PERIOD}", headers={"Authorization": key}).json()
        assert after["source"] == "warehouse and inbox"
        assert (
            next(d for d in after["departments"] if d["department"] == "Finance")["current"]["state"]
            == "loaded"
        )


def _release_on_first_retry(holder: Holder, done: threading.Event, timeout: float = 120) -> None:
    """Release the lock once Prefect has put the load task in AwaitingRetry (its first attempt gave up)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        TaskRunFilter,
        TaskRunFilterName,
        TaskRunFilterState,
        TaskRunFilterStateName,
    )
    from prefect.client.schemas.sorting import TaskRunSort

    wanted = TaskRunFilter(
        name=TaskRunFilterName(like_="load-inbox"),
        state=TaskRunFilterState(name=TaskRunFilterStateName(any_=["AwaitingRetry"])),
    )
    deadline = time.monotonic() + timeout
    try:
        with get_client(sync_client=True) as client:
            while time.monotonic() < deadline and not done.is_set():
                if client.read_task_runs(task_run_filter=wanted, sort=TaskRunSort.ID_DESC, limit=1):
                    break
                time.sleep(0.2)
    finally:
        holder.release()


def test_ingest_flow_retries_with_back_off_until_the_warehouse_is_free(tmp_path, settings, hold):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    from actionplan.flows.ingest import ingest

    open_warehouse(settings.warehouse_url).close()
    assert ingest()["loaded"] == []  # Prefect's temporary server is up before the clock matters
    inbox = Inbox(settings.inbox_path, settings.archive_path)
    ids = []
    for i, dept in enumerate(DEPARTMENTS[:3]):
        path = canonical_workbook(tmp_path / f"{i}.xlsx", dept, [action(f"A{n}") for n in range(50)])
        data = path.read_bytes()
        ids.append(inbox.submit(check_workbook(data, path.name), data, submitted_by="test")["submission_id"])

    holder = hold(settings.warehouse_url)
    done = threading.Event()
    releaser = threading.Thread(target=_release_on_first_retry, args=(holder, done), daemon=True)
    releaser.start()
    started = time.monotonic()
    try:
        state = ingest(lock_wait_seconds=3, return_state=True)  # each attempt waits 3 s for the lock
    finally:
        done.set()
        releaser.join(timeout=30)
    elapsed = time.monotonic() - started

    result = state.result()
    assert sorted(result["loaded"]) == sorted(ids) and result["failed"] == {}
    assert elapsed >= 3 + 2  # the first attempt waited 3 s for the lock, then the retry came 2 s later
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
            sort=TaskRunSort.ID_DESC,
            limit=10,
        )
    assert [(r.name.rpartition("-")[0], r.run_count, r.state.name) for r in runs] == [
        ("load-inbox", 2, "Completed")
    ]
    wh = open_warehouse(settings.warehouse_url, read_only=True)
    try:
        assert wh.submission_counts()["actions"] == 150
    finally:
        wh.close()
    assert inbox.pending() == []


@pytest.mark.parametrize("workers", [1, 2])
def test_load_script_quick_run_loses_nothing(tmp_path, workers):
    """`bench/load.py --quick` against its own `actionplan serve --workers N`: no 5xx, nothing lost or stored
    twice, however many processes answer."""
    out = tmp_path / "load.json"
    root = Path(__file__).resolve().parents[2]
    p = subprocess.run(
        [
            sys.executable,
            str(root / "bench" / "load.py"),
            "--quick",
            "--clients",
            "6",
            "--seconds",
            "8",
            "--workers",
            str(workers),
            "--out",
            str(out),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    result = json.loads(out.read_text())["quick"]
    assert result["server_errors"] == 0 and result["lost"] == [] and result["requests"] > 0
    assert result["nothing_lost"] is True and result["workers"] == workers
    # One process, or a supervisor with a process per worker (each answers from its own copy of the app; Python's
    # multiprocessing may add its resource tracker).
    processes = result["server_processes"]
    assert processes == 1 if workers == 1 else processes >= workers + 1, processes
