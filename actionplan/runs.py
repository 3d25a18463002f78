"""Running a flow from the command line (the CLI and the demo), and printing what a rollup found."""

from __future__ import annotations

import os
import sys
from typing import Any, cast

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


def run_flow(flow_name: str, **params: Any) -> dict[str, Any]:
    """Run a flow in this process (a temporary local Prefect server, or PREFECT_API_URL's server)."""
    s = load_settings()
    _quiet_prefect(s)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    if flow_name == "ingest":
        from actionplan.flows.ingest import ingest as flow
    else:
        from actionplan.flows.consolidate import consolidate as flow
    # The heartbeat thread's join costs ~1 s per run and tells a local run nothing.
    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
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
