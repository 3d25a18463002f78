"""Shared fixtures: a fresh actionplan home per test, one Prefect home per session, canonical workbooks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
import pytest

# One Prefect home per test process: its first use migrates a SQLite database (~15 s), once. Each xdist
# worker needs its own (workers inherit the controller's environment): two temporary servers migrating one
# SQLite file at the same time fail with "duplicate column".
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"actionplan-prefect-{_WORKER}-")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# Two test workers each start a temporary Prefect server; on a loaded 2-core machine 20 s is not enough.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)

ACTION_HEADER = [
    "Ref",
    "Objective",
    "Theme",
    "Action",
    "Lead officer",
    "Due date",
    "Revised due date",
    "Status",
    "Progress update",
]
OBJECTIVE_HEADER = ["Ref", "Objective", "Theme", "Delivered by", "Lead officer", "Status", "Commentary"]
KPI_HEADER = [
    "Ref",
    "Measure",
    "Polarity",
    "Unit",
    "Lead officer",
    "Target",
    "Actual",
    "Tolerance",
    "Comment",
]
GOOD_KPI = ["K1", "% invoices paid in 30 days", "Higher is better", "%", "R Khan", "95%", "91%", None, None]


def run_probe(tmp_path: Path, code: str, *args: str) -> subprocess.CompletedProcess:
    """Run code (a probe: hooks set, then the `actionplan` entry point called) as a script in a Python process of
    its own with args, this environment; its output captured."""
    script = tmp_path / "probe.py"
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def canonical_workbook(
    path: Path,
    department: str | None = "Finance",
    actions: list[list] | None = None,
    *,
    period: str | None = "2024/25 Q2",
    objectives: list[list] | None = None,
    kpis: list[list] | None = None,
    plan: bool = True,
) -> Path:
    """A department workbook in the template's layout, with exactly the rows given."""
    wb = openpyxl.Workbook()
    ws = wb.active
    if plan:
        ws.title = "Plan"
        for label, value in (
            ("Department", department),
            ("Plan", "Service Plan 2024/25"),
            ("Period", period),
        ):
            ws.append([label, value])
        wa = wb.create_sheet("Actions")
    else:
        wa = ws
        wa.title = "Actions"
    wa.append(ACTION_HEADER)
    for row in actions or []:
        wa.append(row)
    if objectives is not None:
        wo = wb.create_sheet("Objectives")
        wo.append(OBJECTIVE_HEADER)
        for row in objectives:
            wo.append(row)
    if kpis is not None:
        wk = wb.create_sheet("KPIs")
        wk.append(KPI_HEADER)
        for row in kpis:
            wk.append(row)
    for sheet in wb.worksheets:  # openpyxl would store text starting with "=" as a live formula
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    wb.save(path)
    return path


def action(
    ref="F1",
    text="Close the accounts",
    lead="Patel, Anita",
    due="31/03/2025",
    revised=None,
    status="G",
    update="On track",
    objective="Balanced budget",
    theme="Money",
) -> list:
    return [ref, objective, theme, text, lead, due, revised, status, update]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh ACTIONPLAN_HOME for one test."""
    h = tmp_path / "home"
    monkeypatch.setenv("ACTIONPLAN_HOME", str(h))
    for name in (
        "ACTIONPLAN_WAREHOUSE",
        "ACTIONPLAN_INBOX",
        "ACTIONPLAN_LAYOUTS",
        "ACTIONPLAN_SETTINGS",
        "ACTIONPLAN_COUNCIL",
    ):
        monkeypatch.delenv(name, raising=False)
    return h


@pytest.fixture
def settings(home):
    from actionplan.settings import load_settings

    return load_settings()
