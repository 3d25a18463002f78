"""`actionplan demo` end to end, its numbers checked against counts made independently from its workbooks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl

# Deliberately not actionplan.vocabulary: an independent reading of spec §1, to catch its mistakes.
_INDEPENDENT = {
    "Blue": {"b", "blue", "complete", "completed", "done", "achieved", "*"},
    "Green": {"g", "green", "on target", "on track", "●"},
    "Amber": {"a", "amber", "off target but recovery plans in place", "at risk", "some slippage"},
    "Red": {"r", "red", "off target", "behind schedule", "poor", "▲"},
}


def _column(value) -> str:
    text = " ".join(str(value or "").split()).lower()
    for column, words in _INDEPENDENT.items():
        if text in words:
            return column
    return "Not rated"


def _counts_from_workbooks(folder: Path) -> dict[str, Counter]:
    counts = {}
    for path in sorted(folder.glob("*.xlsx")):
        if path.stem.endswith("first-try"):
            continue  # the demo's deliberately rejected copy
        wb = openpyxl.load_workbook(path, read_only=True)
        plan = {r[0]: r[1] for r in wb["Plan"].iter_rows(values_only=True) if r and r[0]}
        rows = list(wb["Actions"].iter_rows(values_only=True))
        status_col = [str(h).strip() for h in rows[0]].index("Status")
        counts[plan["Department"]] = Counter(_column(r[status_col]) for r in rows[1:] if any(r))
    return counts


def test_demo_numbers_equal_independent_counts(tmp_path):
    env = {**os.environ, "ACTIONPLAN_HOME": str(tmp_path / "home")}
    p = subprocess.run([sys.executable, "-m", "actionplan", "demo"], capture_output=True, text=True, env=env,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert "was rejected (2 errors, nothing stored)" in p.stdout
    assert "Not submitted: Housing & Communities" in p.stdout
    assert re.search(r"Changes since 2024/25 Q1: \d+ ", p.stdout)
    rollup = Path(p.stdout.split("Rollup workbook: ")[1].splitlines()[0])
    assert rollup.exists()

    exported = json.loads(subprocess.run([sys.executable, "-m", "actionplan", "export", "--period", "2024/25 Q2"],
                                         capture_output=True, text=True, env=env, check=True).stdout)
    expected = _counts_from_workbooks(tmp_path / "home" / "demo" / "2024-25-q2")
    assert len(expected) >= 8
    got = {r["Department"]: r for r in exported["summary"] if r["Department"] != "Council total"}
    assert set(got) == set(expected)
    for dept, counter in expected.items():
        for column in ("Blue", "Green", "Amber", "Red", "Not rated"):
            assert got[dept][column] == counter[column], (dept, column)
        assert got[dept]["Total"] == sum(counter.values())
    total = exported["summary"][-1]
    assert total["Total"] == sum(sum(c.values()) for c in expected.values())
    assert total["Total"] >= 1000  # a realistic council, not a toy
    assert exported["missing"] == ["Housing & Communities"]

    # The rollup workbook says the same as the export.
    wb = openpyxl.load_workbook(rollup, read_only=True)
    rows = [r for r in wb["Summary"].iter_rows(values_only=True) if r and r[0] == "Council total"]
    assert rows and rows[0][1:7] == (total["Blue"], total["Green"], total["Amber"], total["Red"],
                                     total["Not rated"], total["Total"])
