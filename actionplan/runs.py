"""Running a flow from the command line (the CLI and the demo), and printing what a rollup found."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any, cast

from . import startup
from .councils import ALL_COUNCILS, DEFAULT_COUNCIL
from .settings import load_settings


def _quiet_prefect(settings) -> None:
    # Keep everything of a council's install under its home folder, and Prefect's chatter out of the CLI.
    os.environ.setdefault("PREFECT_HOME", str(settings.home_path / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    # The temporary server's telemetry writes race its own SQLite file and print tracebacks.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # The very first run creates Prefect's database; on a busy machine that outlasts the 20 s default wait.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


GRACE = 5  # seconds the temporary server has to shut down once told to, before uvicorn ends it


class _TemporaryServer:
    """Prefect's temporary local server, started before Prefect is even imported: the same uvicorn command Prefect
    runs for it (prefect.server.api.server.SubprocessASGIServer), so its seconds of start-up overlap this process's
    imports on another core, and this process never imports the server's own modules (Prefect's way does, ~2 s).
    One per process, stopped at exit, as Prefect's is."""

    def __init__(self) -> None:
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            self.port = free.getsockname()[1]
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        site = Path(find_spec("prefect").submodule_search_locations[0]).parent  # type: ignore[union-attr, index]
        # The variables Prefect gives its own temporary server: no UI, and the server knows it is one.
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(site), "--factory"]
            # Prefect's create_app, made with the garbage collector paused (a quarter of the start-up otherwise)
            + ["actionplan.startup:prefect_server_app", "--host", "127.0.0.1", "--port", str(self.port)]
            + ["--log-level", "error", "--lifespan", "on", "--timeout-graceful-shutdown", str(GRACE)],
            env=env,
        )
        atexit.register(self.stop)

    def wait_ready(self) -> str:
        import httpx

        deadline = time.monotonic() + float(
            os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", 180)
        )
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Prefect's temporary server exited (code {self.process.returncode})")
                try:
                    if client.get(f"{self.api_url}/health", timeout=5).status_code == 200:
                        return self.api_url
                except httpx.TransportError:
                    pass
                time.sleep(0.02)  # the flow's start waits for this answer: asked often (each ask costs ~1 ms)
        raise RuntimeError("Prefect's temporary server did not start in time")

    def stop(self) -> None:
        """Tell the server to stop, and go on without waiting for it: its shutdown (~0.2 s, the last thing a flow
        command waited for) writes nothing a run needs, the run's states being stored by then (this handler runs
        after Prefect's own, which send the last logs: exit handlers run last registered first). uvicorn's own
        timeout (GRACE) ends a shutdown that hangs."""
        if self.process.poll() is None:
            self.process.terminate()


_SERVER: _TemporaryServer | None = None


def _server_configured() -> bool:
    """Whether Prefect is pointed at a server (PREFECT_API_URL in the environment or in a profile)."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    profiles = Path(
        os.environ.get("PREFECT_PROFILES_PATH") or Path(os.environ["PREFECT_HOME"]) / "profiles.toml"
    )
    try:
        return "PREFECT_API_URL" in profiles.read_text(encoding="utf-8")
    except OSError:
        return False


def start_temporary_server(settings=None) -> None:
    """Start Prefect's temporary server now, unless one is running or Prefect is pointed at a server of the
    council's own. The `actionplan` command calls this first thing for a command that runs a flow (launch.py): the
    server's start is the longest thing such a command waits for. Settings that do not load are left for the
    command itself to report."""
    global _SERVER
    if settings is None:
        try:
            settings = load_settings()
        except Exception:
            return
    _quiet_prefect(settings)
    if _SERVER is None and not _server_configured():
        # Its SQLite file goes in PREFECT_HOME, which a home not used before does not have yet.
        Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
        _SERVER = _TemporaryServer()


def _flow_call_imports() -> None:
    """Import now what calling a flow imports on its way to the flow's start: Prefect's flow engine, the module
    of its visualisation (Flow.__call__) and fastapi's encoders (its parameters' serialiser). Otherwise ~0.3 s of
    imports fall between the server's first answers, on the path to the flow's start; run_flow does them while
    the server is still starting."""
    import fastapi.encoders  # noqa: F401
    import prefect.flow_engine  # noqa: F401
    import prefect.utilities.visualization  # noqa: F401


def run_flow(flow_name: str, **params: Any) -> dict[str, Any]:
    """Run a flow in this process (a temporary local Prefect server, or PREFECT_API_URL's server)."""
    s = load_settings()
    start_temporary_server(s)
    if _SERVER is not None:
        # The pending records read while the server starts (this process only waits for it meanwhile).
        from actionplan.warehouse import loads_frames
        from actionplan.warehouse.inbox import Inbox
        from actionplan.warehouse.load import read_ahead

        read_ahead(Inbox(s.inbox_path, s.archive_path), frames=loads_frames(s.warehouse_url))
    if flow_name == "consolidate":
        from actionplan.warehouse.validation import start_worker

        start_worker()  # GX's process imports GX now, on the core this one leaves idle waiting for the server
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    _flow_call_imports()  # while the server is still starting
    startup.resume()  # the imports done (launch.py paused the collector for them)
    if flow_name == "ingest":
        from actionplan.flows.ingest import ingest as flow
    else:
        from actionplan.flows.consolidate import consolidate as flow
    # The heartbeat thread's join costs ~1 s per run and tells a local run nothing.
    changes: dict[Any, Any] = {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    if _SERVER is not None:
        changes[PREFECT_API_URL] = _SERVER.wait_ready()
    with temporary_settings(changes):
        # Called, a flow returns its own value (a State only with return_state=True).
        return cast(dict[str, Any], flow(**params))


def print_summary(facts: dict[str, Any], out=sys.stdout, council: str = DEFAULT_COUNCIL) -> None:
    """The Summary table as text: RAGB counts by department and the council total (combined: by council too)."""
    rows = facts["summary"]
    tables = (
        [("Council", facts["councils"]), ("Department", rows)]
        if "councils" in facts
        else [("Department", rows)]
    )
    width = max([len(r[key]) for key, table in tables for r in table] + [10])
    cols = ("Blue", "Green", "Amber", "Red", "Not rated", "Total")
    whose = {DEFAULT_COUNCIL: "", ALL_COUNCILS: "All councils, "}.get(council, f"{council}, ")
    print(f"\n{whose}{facts['period']} (period ends {facts['period_end']})", file=out)
    for key, table in tables:
        print(f"{key:<{width}}  " + "  ".join(f"{c:>9}" for c in cols) + "  % complete", file=out)
        for r in table:
            print(
                f"{r[key]:<{width}}  " + "  ".join(f"{r[c]:>9}" for c in cols) + f"  {r['% complete']:>9.0%}",
                file=out,
            )
    if facts["missing"]:
        print(f"Not submitted: {', '.join(facts['missing'])}", file=out)
    if facts.get("returned"):
        print("Returned: " + ", ".join(f"{d} ({c})" for d, c in sorted(facts["returned"].items())), file=out)
    changes = (
        f"Changes since {facts['previous_period']}: {facts['changes']}"
        if facts["previous_period"]
        else "Changes: none (no earlier period on record)"
    )
    print(f"Exceptions: {facts['exceptions']}   {changes}   Warnings: {facts['warnings']}", file=out)
    total = next((r for r in facts.get("kpis") or [] if r.get("Department") == "Council total"), None)
    if total and total.get("Total"):
        # "not due" and "data only" only where some KPI is one: they are neither missing nor no data.
        words = [w for w in total if w not in ("Department", "Total")]
        print(f"KPIs: {total['Total']} (" + ", ".join(f"{total[w]} {w}" for w in words) + ")", file=out)
