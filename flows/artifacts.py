"""What the flows show in the Prefect UI: the tables and markdown of their artifacts, built from their results."""

from __future__ import annotations

import re
from typing import Any

from actionplan.councils import DEFAULT_COUNCIL, council_slug

SUMMARY_COLUMNS = ("Department", "Blue", "Green", "Amber", "Red", "Not rated", "Total", "% complete")


def artifact_key(*parts: str) -> str:
    """An artifact key Prefect accepts (lowercase letters, digits and dashes): consolidate-2024-25-q2."""
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).casefold()).strip("-")


def run_tags(council: str, period: str | None = None) -> list[str]:
    """The tags a Prefect user filters runs on: council:<slug> and period:<label>."""
    from actionplan.vocabulary import period_label

    period = (period_label(period) or period) if period else None
    return [f"council:{council_slug(council)}", *([f"period:{period}"] if period else [])]


def load_table(
    records: list[dict[str, Any]], failed: dict[str, str], rejected: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per submission an ingest run loaded, failed to load, or that was rejected at Submit since the last."""
    rows = [
        {
            "Council": r.get("council") or DEFAULT_COUNCIL,
            "Department": r.get("department"),
            "Period": r.get("period"),
            "Outcome": r["outcome"],
            "Warnings": r["warnings"],
            "Errors": 0,
            "Submission": r["id"][:12],
        }
        for r in records
    ]
    rows += [
        {
            "Council": "",
            "Department": "",
            "Period": "",
            "Outcome": f"not loaded: {why}",
            "Warnings": "",
            "Errors": "",
            "Submission": sid[:12],
        }
        for sid, why in failed.items()
    ]
    for r in rejected:
        report = r.get("report") or {}
        rows.append(
            {
                "Council": r.get("council") or DEFAULT_COUNCIL,
                "Department": report.get("department"),
                "Period": report.get("period"),
                "Outcome": "rejected at Submit",
                "Warnings": len(report.get("warnings") or []),
                "Errors": len(report.get("errors") or []),
                "Submission": (r.get("raw") or "")[:12],
            }
        )
    return rows


def load_description(
    records: list[dict[str, Any]], failed: dict[str, str], rejected: list[dict[str, Any]]
) -> str:
    """The table artifact's one-line description: counts of departments loaded, warnings and rejections."""
    loaded = [r for r in records if r["outcome"] == "loaded"]
    warnings = sum(r["warnings"] for r in loaded)
    text = (
        f"{counted(len(loaded), 'department plan')} loaded ({counted(warnings, 'warning')}), "
        f"{len(rejected)} rejected at Submit"
    )
    return text + (f", {len(failed)} failed to load" if failed else "") + "."


def counted(n: int, noun: str) -> str:
    """'1 warning', '2 warnings'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append(
            "| " + " | ".join(_cell(f"{row[c]:.0%}" if c.startswith("%") else row[c]) for c in columns) + " |"
        )
    return "\n".join(lines)


def consolidate_markdown(result: dict[str, Any], link: str | None = None) -> str:
    """The consolidate run's artifact: the Summary table, exceptions and missing departments, where the rollup is."""
    facts = result["facts"]
    missing = facts.get("missing") or []
    lines = [
        f"# Council rollup, {facts['period']}",
        "",
        markdown_table(facts["summary"], SUMMARY_COLUMNS),
        "",
        f"- **Exceptions:** {facts['exceptions']}",
        f"- **Departments not submitted:** {len(missing)}" + (f" ({', '.join(missing)})" if missing else ""),
        f"- **Data-quality warnings:** {facts['warnings']}",
        "- **Rollup workbook:** " + (f"[{result['path']}]({link})" if link else result["path"]),
    ]
    if result.get("pdf"):
        lines.append(f"- **Committee report (PDF):** {result['pdf']}")
    validation = result.get("validation") or {}
    if validation.get("failed"):
        lines.append(f"- **Great Expectations validation failed:** {_cell(validation['failed'])}")
    elif validation.get("summary"):
        lines.append(f"- **Great Expectations:** {validation['summary']}")
    if validation.get("docs_index"):
        lines.append(f"- **Data Docs:** {validation['docs_index']}")
    return "\n".join(lines) + "\n"


def validation_markdown(validation: dict[str, Any]) -> str:
    """The validation task's artifact: each suite's counts, then every disagreement with Submit."""
    lines = [
        f"# Great Expectations, {validation['period']}",
        "",
        validation["summary"],
        "",
        "| Suite | Rows | Expectations | Met | Not met |",
        "|---|---|---|---|---|",
    ]
    for kind, s in validation["suites"].items():
        lines.append(f"| {kind} | {s['rows']} | {s['expectations']} | {s['met']} | {s['not met']} |")
    if validation["disagreements"]:
        lines += ["", "## Disagreements with Submit", ""]
        lines += [f"- {_cell(d['message'])}" for d in validation["disagreements"]]
    if validation.get("docs_index"):
        lines += ["", f"Data Docs: {validation['docs_index']}"]
    if validation.get("results_file"):
        lines += [f"Validation results: {validation['results_file']}"]
    return "\n".join(lines) + "\n"


def add_run_tags(tags: list[str]) -> None:
    """Add tags to the flow run in progress (known only once the flow has worked out its council and period)."""
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None or not tags:
        return
    merged = list(dict.fromkeys([*(context.flow_run.tags or []), *tags]))
    with get_client(sync_client=True) as client:
        client.update_flow_run(context.flow_run.id, tags=merged)
    context.flow_run.tags = merged
