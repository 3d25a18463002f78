"""Checks across a plan's sheets that a department can act on at Submit: objectives against their actions, actions
pointing at objective refs that do not exist, implausible KPI actuals, and (from last period's snapshot) stale
commentary and slips."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from .councils import council_in_file_name
from .model import WARNING, Message
from .register import fold_name
from .rules import implausible
from .values import number_from_value, present, same_text
from .vocabulary import NOT_DUE, NOT_RATED_KPI, STATUS_NAMES, period_from_text

# An Objective cell that reads as a ref (O3, 1.2, OBJ-4): short, no spaces, with a digit. Longer text is the
# objective written out, which familiar layouts allow, so it is not checked against the refs.
_LOOKS_LIKE_REF = re.compile(r"^(?=.*\d)[A-Za-z0-9._/-]{1,12}$")


def _key(value: Any) -> str:
    return " ".join(str(value).split()).casefold() if present(value) else ""


def _cell(letters: dict[str, dict[str, str]], sheet: str, field: str, row: Any) -> str | None:
    letter = (letters.get(sheet) or {}).get(field)
    return f"{letter}{int(row)}" if letter and present(row) else None


def objective_checks(
    objectives: pd.DataFrame, actions: pd.DataFrame, letters: dict[str, dict[str, str]]
) -> list[Message]:
    """Warn where an objective's status disagrees with its actions (Blue with actions not Blue; Green with a Red
    action), and where an action names an objective ref the Objectives sheet does not have."""
    if objectives.empty or actions.empty or "objective" not in actions:
        return []
    found: list[Message] = []
    refs = {_key(r): str(r) for r in objectives["ref"].tolist() if present(r)}
    texts = {_key(t) for t in objectives.get("objective", pd.Series(dtype=object)).tolist() if present(t)}
    under: dict[str, list[dict[Any, Any]]] = {}
    wanted = [c for c in ("objective", "ref", "status", "sheet", "row") if c in actions]
    for a in actions[wanted].to_dict(
        "records"
    ):  # only the columns used: a 2,000-row plan is checked at Submit
        named = a.get("objective")
        key = _key(named)
        if not key:
            continue
        if key in refs:
            under.setdefault(key, []).append(a)
        elif key not in texts and _LOOKS_LIKE_REF.match(str(named).strip()):
            shown = ", ".join(sorted(refs.values())[:10]) + ("…" if len(refs) > 10 else "")
            found.append(
                Message(
                    WARNING,
                    "unknown-objective",
                    a["sheet"],
                    _cell(letters, a["sheet"], "objective", a.get("row")),
                    str(named),
                    f"no objective has the ref '{str(named).strip()}' on the Objectives sheet (its refs: "
                    f"{shown}). Use one of those refs, or add the objective.",
                )
            )
    for o in objectives.to_dict("records"):
        mine = under.get(_key(o.get("ref")), [])
        status = o.get("status")
        if not mine or status not in ("B", "G"):
            continue
        if status == "B":
            odd = [a for a in mine if a.get("status") != "B"]
            said = "Blue (complete) but"
            what = "not Blue"
        else:
            odd = [a for a in mine if a.get("status") == "R"]
            said = "Green (on track) but"
            what = "Red"
        if not odd:
            continue
        listed = ", ".join(
            f"{a.get('ref')} {STATUS_NAMES.get(str(a.get('status')), a.get('status'))}" for a in odd[:6]
        )
        listed += "…" if len(odd) > 6 else ""
        count = (
            "its action is"
            if len(mine) == 1
            else f"{len(odd)} of its {len(mine)} actions {'is' if len(odd) == 1 else 'are'}"
        )
        found.append(
            Message(
                WARNING,
                "objective-status",
                o["sheet"],
                _cell(letters, o["sheet"], "status", o.get("row")),
                o.get("status_text") if present(o.get("status_text")) else status,
                f"this objective is {said} {count} {what} ({listed}). Check the objective's status "
                "against its actions.",
            )
        )
    return found


def snapshot_checks(
    actions: pd.DataFrame, previous: dict[str, dict[str, Any]] | None, letters: dict[str, dict[str, str]]
) -> list[Message]:
    """Stale commentary and the three-period slip check against last period's snapshot of the department's actions
    (ref → status, update, effective due date, revised: whether each of the two periods before brought a revision)."""
    if not previous or actions.empty:
        return []
    found: list[Message] = []
    wanted = [
        c
        for c in ("ref", "status", "status_text", "progress_update", "effective_due_date", "sheet", "row")
        if c in actions
    ]
    for a in actions[wanted].to_dict("records"):
        before = previous.get(str(a.get("ref")))
        if before is None:
            continue
        update, status = a.get("progress_update"), a.get("status")
        if (
            status != "B"
            and present(update)
            and present(before.get("update"))
            and same_text(before["update"], update)
        ):
            found.append(
                Message(
                    WARNING,
                    "stale-commentary",
                    a["sheet"],
                    _cell(letters, a["sheet"], "progress_update", a.get("row")),
                    str(update)[:80],
                    "this progress update is the same as last period's. Say what has happened since then.",
                )
            )
        due = a.get("effective_due_date")
        now_due = str(due)[:10] if present(due) else None
        moved = now_due is not None and before.get("due") is not None and now_due != before["due"]
        if status in ("G", "A") and moved and before.get("revised") == [True, True]:
            found.append(
                Message(
                    WARNING,
                    "rag-history",
                    a["sheet"],
                    _cell(letters, a["sheet"], "status", a.get("row")),
                    a.get("status_text") if present(a.get("status_text")) else status,
                    f"{STATUS_NAMES.get(status, status).lower()} but the due date was revised in each "
                    "of the last three periods. Check the status: the rollup shows it as you gave it, "
                    "with this flag beside it.",
                )
            )
    return found


def snapshot_path(home: Path, council: str, period: str, department: str) -> Path:
    """Where a department's snapshot of a period lives (named by a hash of its folded name: any spelling finds it)."""
    whose = council_in_file_name(council) or "default"
    digest = hashlib.sha256(fold_name(department).encode("utf-8")).hexdigest()[:20]
    return home / "snapshots" / whose / period.replace("/", "-").replace(" ", "-") / f"{digest}.json"


def previous_snapshot(
    home: Path, council: str, period: str | None, department: str | None
) -> dict[str, Any] | None:
    """The department's actions of the period before this one, as published (None when there is none to compare)."""
    parsed = period_from_text(period) if period else None
    if parsed is None or not department:
        return None
    path = snapshot_path(home, council, parsed.previous().label, department)
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("actions") or None
    except (OSError, ValueError, AttributeError):
        return None  # none published (a first quarter) or unreadable: the rollup still finds these at consolidation


def kpi_checks(
    kpis: pd.DataFrame, letters: dict[str, dict[str, str]], ratio: float, period: str | None = None
) -> list[Message]:
    """Warn where a rated KPI's actual is implausibly far from its target, or from the previous quarter's actual a
    scorecard carries (more than ratio times it, or less than 1/ratio): a slipped decimal point, a total for a rate."""
    if kpis.empty or "actual" not in kpis:
        return []
    parsed = period_from_text(period) if period else None
    before = (
        f"Actual {parsed.previous().label}"
        if parsed is not None
        and parsed.quarter not in (None, 1)  # a scorecard keeps this year's quarters only
        else None
    )
    found = []
    for r in kpis.to_dict("records"):
        if r.get("performance") in (NOT_RATED_KPI, NOT_DUE) or not present(r.get("actual")):
            continue
        judged = r.get("period_target") if present(r.get("period_target")) else r.get("target")
        previous = (r.get("extra") or {}).get(before) if before else None
        previous_number = number_from_value(previous).number if present(previous) else None
        for against, what in ((judged, "its target"), (previous_number, "the previous quarter's actual")):
            if against is not None and implausible(r["actual"], against, ratio):
                actual, reference = float(r["actual"]), float(against)
                found.append(
                    Message(
                        WARNING,
                        "implausible-kpi-actual",
                        r["sheet"],
                        _cell(letters, r["sheet"], "actual", r["row"]),
                        r.get("actual_text") or f"{actual:g}",
                        f"the actual, {actual:g}, is more than {ratio:g} times "
                        f"{'above' if actual > reference else 'below'} {what} ({reference:g}). Check for a "
                        "misplaced decimal point or a total typed for a rate; if the figure is right, say why in "
                        "the Comment.",
                    )
                )
                break
    return found
