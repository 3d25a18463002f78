"""At scale on one machine: a Prefect server, two workers on a process pool, PostgreSQL; same rollup as embedded."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pytest

from actionplan.check import check_workbook
from actionplan.sample import write_council
from actionplan.warehouse import open_warehouse
from actionplan.warehouse.base import record_table
from actionplan.warehouse.inbox import Inbox
from actionplan.warehouse.load import load_inbox
from tests import pgserver

BIN = Path(sys.executable).parent
PERIODS = ("2024/25 Q1", "2024/25 Q2")
POOL = "actionplan-test"
WORKERS = ("worker-1", "worker-2")
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def wait_for(what: str, ready: Callable[[], object], timeout: float, logs: list[Path] = ()) -> object:
    """Poll until ready() gives something truthy; fail with the logs after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = ready()
        if value:
            return value
        time.sleep(0.5)
    tails = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")


class Processes:
    """Long-running commands started by this test, each in its own process group, all stopped at the end."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.started: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str], env: dict[str, str]) -> Path:
        log = self.logs / f"{name}.log"
        with open(log, "wb") as out:
            self.started.append(
                subprocess.Popen(
                    args,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        return log

    def stop_all(self) -> None:
        for proc in reversed(self.started):  # workers (and their flow runs) before the server
            self._signal(proc, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                self._signal(proc, signal.SIGKILL)
                proc.wait(10)

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)  # the group this test created for it: the command and its children
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """PostgreSQL, a Prefect server (its own database on that PostgreSQL) and two process workers, on loopback."""
    bin_dir = pgserver.postgres_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no initdb/pg_ctl): apt-get install postgresql")
    root = tmp_path_factory.mktemp("scale")
    procs = Processes(root)
    with pgserver.running_postgres(bin_dir) as pg_admin:
        with (
            pgserver.fresh_database(pg_admin) as warehouse_url,
            pgserver.fresh_database(pg_admin) as prefect_db,
        ):
            port = pgserver.free_port()
            api = f"http://127.0.0.1:{port}/api"
            home = root / "home"
            base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "ACTIONPLAN_"))}
            base.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
            try:
                server_log = procs.start(
                    "prefect-server",
                    [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    {
                        **base,
                        "PREFECT_HOME": str(root / "prefect-server"),
                        "PREFECT_UI_ENABLED": "false",
                        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db.replace(
                            "postgresql://", "postgresql+asyncpg://"
                        ),
                    },
                )
                wait_for("the Prefect server", lambda: _healthy(api), 180, [server_log])
                # What every worker and the deploying machine share: the API, the warehouse, the inbox.
                shared = {
                    **base,
                    "PREFECT_API_URL": api,
                    "ACTIONPLAN_HOME": str(home),
                    "ACTIONPLAN_WAREHOUSE": warehouse_url,
                    "ACTIONPLAN_INBOX": str(root / "shared-inbox"),
                }
                deployed = subprocess.run(
                    [str(BIN / "actionplan"), "deploy", "--pool", POOL],
                    env={**shared, "PREFECT_HOME": str(root / "deployer")},
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert deployed.returncode == 0, deployed.stdout + deployed.stderr
                assert "Deployed ingest/ingest" in deployed.stdout
                logs = [server_log]
                for name in WORKERS:
                    logs.append(
                        procs.start(
                            name,
                            [
                                str(BIN / "prefect"),
                                "worker",
                                "start",
                                "--pool",
                                POOL,
                                "--type",
                                "process",
                                "--name",
                                name,
                                "--limit",
                                "2",
                            ],
                            {
                                **shared,
                                "PREFECT_HOME": str(root / name),
                                "PREFECT_WORKER_QUERY_SECONDS": "1",
                                "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
                            },
                        )
                    )
                wait_for("both workers online", lambda: _online_workers(api) >= set(WORKERS), 120, logs)
                yield {
                    "api": api,
                    "env": shared,
                    "warehouse": warehouse_url,
                    "prefect_db": prefect_db,
                    "home": home,
                    "inbox": Inbox(root / "shared-inbox", home / "archive"),
                    "logs": logs,
                }
            finally:
                procs.stop_all()


def _healthy(api: str) -> bool:
    try:
        return httpx.get(f"{api}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _client(api: str):
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(api=api)


def _online_workers(api: str) -> set[str]:
    from prefect.client.schemas.filters import WorkerFilter, WorkerFilterStatus

    with _client(api) as client:
        workers = client.read_workers_for_work_pool(
            POOL, worker_filter=WorkerFilter(status=WorkerFilterStatus(any_=["ONLINE"])), offset=0, limit=50
        )
    return {w.name for w in workers}


def run_deployments(
    api: str, name: str, times: int, logs: list[Path], timeout: float = 240, **parameters
) -> list:
    """Start `times` runs of a deployment at once and wait for them all to finish; returns the flow runs."""
    with _client(api) as client:
        deployment = client.read_deployment_by_name(name)
        ids = [
            client.create_flow_run_from_deployment(deployment.id, parameters=parameters).id
            for _ in range(times)
        ]

        def finished():
            runs = [client.read_flow_run(i) for i in ids]
            return runs if all(r.state and r.state.type.value in FINAL for r in runs) else None

        return wait_for(f"{times} {name} run(s)", finished, timeout, logs)


@pytest.mark.slow  # a minute or more: `make test-fast` leaves it out
def test_two_workers_load_every_submission_once_and_roll_up_as_embedded(
    cluster, tmp_path, home, monkeypatch, capsys
):
    # A batch of department plans, checked and queued in the shared inbox, as the service would.
    written = write_council(tmp_path / "workbooks", periods=PERIODS, departments=6, actions_total=600)
    inbox: Inbox = cluster["inbox"]
    ids = []
    for paths in written.values():
        for path in paths:
            data = path.read_bytes()
            report = inbox.submit(check_workbook(data, path.name), data, submitted_by="test")
            assert report["accepted"]
            ids.append(report["submission_id"])
    records = [inbox.read(p) for p in inbox.pending()]
    embedded_inbox = tmp_path / "embedded-inbox"
    shutil.copytree(inbox.pending_dir.parent, embedded_inbox)

    # Four ingest runs started together; a worker takes at most two, so both workers load at once.
    runs = run_deployments(cluster["api"], "ingest/ingest", 4, cluster["logs"])
    assert [r.state.type.value for r in runs] == ["COMPLETED"] * 4
    assert {r.labels.get("prefect.worker.name") for r in runs} == set(WORKERS)

    with psycopg.connect(
        cluster["prefect_db"]
    ) as con:  # Prefect's server keeps its own state in PostgreSQL too
        assert con.execute("SELECT count(*) FROM flow_run").fetchone()[0] >= 4

    # Every submission loaded exactly once: nothing pending, nothing lost, no row twice.
    assert inbox.pending() == [] and sorted(p.stem for p in inbox.loaded_dir.glob("*.json")) == sorted(ids)
    pg = open_warehouse(cluster["warehouse"], read_only=True)
    assert sorted(pg.query("SELECT id FROM submissions")["id"]) == sorted(ids)
    assert pg.submission_counts() == {
        "submissions": len(ids),
        **{
            t: sum(record_table(r[t])[0] for r in records)
            for t in ("objectives", "actions", "kpis", "messages")
        },
    }
    pg.close()

    # Consolidate, one run at a time, on a worker: the rollup workbook is written to the shared home.
    out = cluster["home"] / "rollups" / "scale.xlsx"
    (run,) = run_deployments(
        cluster["api"], "consolidate/consolidate", 1, cluster["logs"], period=PERIODS[-1], out=str(out)
    )
    assert run.state.type.value == "COMPLETED" and out.exists()

    # The embedded path (DuckDB, one process) over the same submissions gives the same rollup numbers.
    duck_url = str(tmp_path / "warehouse.duckdb")
    duck = open_warehouse(duck_url)
    assert sorted(load_inbox(Inbox(embedded_inbox, tmp_path / "archive"), duck).loaded) == sorted(ids)
    duck.close()
    from actionplan.cli import main

    for period in PERIODS:
        exported = {}
        for backend, url in (("duckdb", duck_url), ("postgres", cluster["warehouse"])):
            monkeypatch.setenv("ACTIONPLAN_WAREHOUSE", url)
            assert main(["export", "--period", period]) == 0
            exported[backend] = capsys.readouterr().out
        assert exported["postgres"] == exported["duckdb"]
        assert json.loads(exported["postgres"])["summary"][-1]["Total"] > 0


def test_deploy_without_a_prefect_server_says_what_to_set(settings, capsys):
    from actionplan.cli import main

    assert main(["deploy", "--pool", POOL]) == 2
    assert "No Prefect server to deploy to: set PREFECT_API_URL" in capsys.readouterr().err
