"""`actionplan demo`: a generated council's two quarters submitted, loaded and rolled up, on the embedded default."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import openpyxl

from .model import ERROR, Message
from .settings import load_settings

DEMO_PERIODS = ("2024/25 Q1", "2024/25 Q2")


def spoil_workbook(good: Path, bad: Path) -> Path:
    """A copy of a plan with the mistakes a real officer makes: an impossible date and an unknown status word."""
    wb = openpyxl.load_workbook(good)
    ws = wb["Actions"]
    ws.cell(row=3, column=6, value="31/11/24")
    ws.cell(row=4, column=8, value="Greenish")
    wb.save(bad)
    return bad


def run_demo(workbooks: Path | None = None, seed: int = 42) -> int:
    """Generate, submit, ingest and consolidate a demo council; print what a performance officer would see."""
    from actionplan.warehouse.inbox import Inbox

    from .check import check_workbook
    from .runs import print_summary, run_flow
    from .sample import write_council

    started = time.perf_counter()
    s = load_settings()
    folder = workbooks or s.home_path / "demo"
    if folder.exists():
        shutil.rmtree(folder)
    print(f"Generating a council's action plans for {' and '.join(DEMO_PERIODS)} (seed {seed}) in {folder} …")
    # With the KPI model's sample KPIs (goal post, data only, annual, cumulative…) in Finance and Legal, HR & Property.
    written = write_council(folder, periods=DEMO_PERIODS, seed=seed, kpi_model=True)
    inbox = Inbox(s.inbox_path, s.archive_path)

    for period in DEMO_PERIODS:
        paths = list(written[period])
        if period == DEMO_PERIODS[-1] and paths:
            # One department first sends a plan with mistakes, then the corrected one: the common case.
            bad = spoil_workbook(paths[0], paths[0].with_name(paths[0].stem + "-first-try.xlsx"))
            paths.insert(0, bad)
        accepted = rejected = warnings = 0
        for path in paths:
            data = path.read_bytes()
            sub = check_workbook(data, path.name, settings=s)
            report = inbox.submit(sub, data, submitted_by="demo")
            if report["accepted"]:
                accepted += 1
                warnings += len(report["warnings"])
            else:
                rejected += 1
                print(f"\n{path.name} was rejected ({len(report['errors'])} errors, nothing stored):")
                for m in report["errors"]:
                    print(f"  {Message.from_dict(m, ERROR)}")
        print(f"{period}: {accepted} plans accepted ({warnings} warnings), {rejected} rejected.")

    results = [run_flow("consolidate", period=period) for period in DEMO_PERIODS]
    result = results[-1]
    print_summary(result["facts"])
    print(f"\nRollup workbook: {result['path']}")
    print(f"Committee report: {write_demo_report(s, DEMO_PERIODS[-1])}")
    validation = result.get("validation") or {}
    if validation.get("failed"):
        print(f"Validation task failed: {validation['failed']}")
    elif validation.get("summary"):
        print(validation["summary"])
    if validation.get("docs_index"):
        print(f"Data Docs (Great Expectations): {validation['docs_index']}")
    print(f"Demo finished in {time.perf_counter() - started:.1f} s.")
    return 0


def write_demo_report(settings, period: str) -> Path:
    """The committee report of the demo's last period, beside its rollup workbook."""
    from actionplan.warehouse import open_warehouse
    from actionplan.warehouse.consolidate import report_from_warehouse

    from .report import report_file

    wh = open_warehouse(settings.warehouse_url, read_only=True, wait_seconds=10)
    try:
        return report_from_warehouse(
            wh,
            period,
            report_file(settings.rollup_file(period, settings.council)),
            council=settings.council,
            tolerance=settings.tolerance,
        )
    finally:
        wh.close()
