"""The compiled suites find exactly what Great Expectations finds: same expectations failing, same rows, same values.

Every comparison here runs GX for real (an ephemeral context, the pandas engine) beside actionplan.expect.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from actionplan import validate
from actionplan.check import check_workbook
from actionplan.expect import compile_suite
from actionplan.sample import plan_for, write_plan
from actionplan.vocabulary import AGGREGATIONS, FREQUENCIES, KPI_TYPES
from tests import familiar

STATUS_WORDS = ["B", "G", "A", "R", "-", "Purple", "?"]


def _same(value: Any) -> Any:
    """One spelling for a value GX and pandas may hand back differently (NaN, None, NaT; Timestamp)."""
    if isinstance(value, tuple):
        return tuple(_same(v) for v in value)
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _findings(failures: list) -> list:
    return sorted(
        (meta.get("code"), meta.get("column"), tuple(rows), tuple(_same(v) for v in values))
        for meta, rows, values in failures
    )


class GX:
    """Great Expectations itself, for any suite definition (not only the three under expectations/)."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("reference")
        self.n = 0

    def failures(self, definition: dict[str, Any], frame: pd.DataFrame) -> list:
        self.n += 1
        batch_definition = self.source.add_dataframe_asset(f"a{self.n}").add_batch_definition_whole_dataframe(
            "b"
        )
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        suite = self.gx.ExpectationSuite(
            name=f"s{self.n}",
            expectations=[
                {"type": e["type"], "kwargs": e["kwargs"], "meta": e.get("meta", {})}
                for e in definition["expectations"]
            ],
        )
        result = batch.validate(
            suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ["row"]}
        )
        out = []
        for r in result.results:
            assert not (r.exception_info or {}).get("raised_exception"), r.exception_info
            if not r.success:
                index = r.result.get("unexpected_index_list") or []
                out.append(
                    (
                        dict(r.expectation_config.meta or {}),
                        [int(i["row"]) for i in index],
                        list(r.result.get("unexpected_list") or []),
                    )
                )
        return out


@pytest.fixture(scope="module")
def reference() -> GX:
    return GX()


def _fuzzed(kind: str, seed: int) -> pd.DataFrame:
    """A normalised-looking frame with every kind of fault the suites look for, at random."""
    rng = random.Random(seed)
    n = rng.choice([1, 2, 7, 40, 120])

    def maybe(value: Any, p: float = 0.2) -> Any:
        return None if rng.random() < p else value

    def day() -> Any:
        return maybe(pd.Timestamp(dt.date(2024, 4, 1) + dt.timedelta(days=rng.randrange(400))), 0.3)

    refs = (
        [f"{rng.randrange(max(2, n // 2 + 1))}" for _ in range(n)] if seed % 3 else [str(i) for i in range(n)]
    )
    frame = pd.DataFrame(
        {
            "row": list(range(2, n + 2)),
            "ref": [maybe(r, 0.1) for r in refs],
            "status": [rng.choice(STATUS_WORDS) for _ in range(n)],
            "lead_officer": [maybe("Sam Okafor") for _ in range(n)],
            "action": [maybe("Deliver the thing") for _ in range(n)],
            "objective": [maybe("An objective") for _ in range(n)],
            "measure": [maybe("Households helped") for _ in range(n)],
            "progress_update": [maybe("On plan", 0.5) for _ in range(n)],
            "due_date_problem": [maybe("November has 30 days", 0.85) for _ in range(n)],
            "revised_due_date_problem": [maybe("no month 13", 0.9) for _ in range(n)],
            "due_date_words": [maybe("when funding allows", 0.8) for _ in range(n)],
            "revised_due_date_words": [maybe("tbc", 0.9) for _ in range(n)],
            "polarity": [maybe("higher") for _ in range(n)],
            "target": [maybe(rng.choice([0, 0.0, rng.random() * 100])) for _ in range(n)],
            # The KPI model: canonical words, unrecognised ones as written, blanks; bands whole, half or reversed.
            "kpi_type": [maybe(rng.choice([*KPI_TYPES, "Goalish"]), 0.4) for _ in range(n)],
            "aggregation": [maybe(rng.choice([*AGGREGATIONS, "Rolling"]), 0.5) for _ in range(n)],
            "frequency": [maybe(rng.choice([*FREQUENCIES, "Fortnightly"]), 0.5) for _ in range(n)],
            "lower_bound": [maybe(rng.choice([85.0, 95.0, 0.0]), 0.3) for _ in range(n)],
            "upper_bound": [maybe(rng.choice([90.0, 95.0, 80.0]), 0.3) for _ in range(n)],
        },
        dtype=object,
    )
    frame["due_date"] = pd.to_datetime(pd.Series([day() for _ in range(n)], dtype=object))
    frame["revised_due_date"] = pd.to_datetime(pd.Series([day() for _ in range(n)], dtype=object))
    return frame


@pytest.mark.parametrize("kind", validate.KINDS)
@pytest.mark.parametrize("seed", range(12))
def test_fuzzed_frames_give_gx_findings(kind: str, seed: int, reference: GX) -> None:
    frame = _fuzzed(kind, seed)
    definition = validate.suite_definition(kind)
    compiled = compile_suite(definition)
    assert compiled is not None, f"the {kind} suite should compile"
    ours, theirs = _findings(compiled.run(frame)), _findings(reference.failures(definition, frame))
    assert ours == theirs
    if len(frame) >= 40:
        assert ours, "a frame this size should have findings"


def _frames_of(path: Path) -> list[tuple[str, pd.DataFrame]]:
    sub = check_workbook(path.read_bytes(), path.name)
    out = []
    for kind in validate.KINDS:
        frame = getattr(sub, kind)
        for _, part in [] if frame.empty else frame.groupby("sheet", sort=False):
            out.append((kind, validate.suite_frame(part)))
    return out


def test_real_workbooks_give_gx_findings(tmp_path: Path, reference: GX) -> None:
    """Generated plans (messy, as departments write them) and the five familiar layouts."""
    paths = [
        write_plan(
            plan_for("Finance", "2024/25 Q2", 150, random.Random(seed), messy=True),
            tmp_path / f"finance-{seed}.xlsx",
        )
        for seed in range(3)
    ]
    plan = familiar.plan_for("tracker")
    paths += [
        familiar.tracker_workbook(plan, tmp_path / "tracker.xlsx"),
        familiar.governance_workbook(familiar.plan_for("governance"), tmp_path / "governance.xlsx"),
        familiar.performance_workbook(familiar.plan_for("performance"), tmp_path / "performance.xlsx"),
        familiar.service_plan_workbook(familiar.plan_for("service_plan"), tmp_path / "service.xlsx"),
    ]
    found = 0
    for path in paths:
        for kind, frame in _frames_of(path):
            ours = _findings(validate.run_suite(kind, frame, "compiled"))
            theirs = _findings(validate.run_suite(kind, frame, "gx"))
            assert ours == theirs, f"{path.name} {kind}"
            found += len(ours)
    assert found > 10


def _suite(*expectations: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "probe",
        "expectations": [{**e, "meta": {"code": f"c{i}", "column": "x"}} for i, e in enumerate(expectations)],
    }


PROBE = pd.DataFrame(
    {
        "row": [2, 3, 4, 5, 6, 7, 8],
        "x": ["a", "b", None, "a", "c", None, "d"],
        "s": ["A", "R", "G", None, "A", "B", "R"],
        "n": [1.0, 5.0, None, 3.0, 9.0, 2.0, None],
        "d1": pd.to_datetime(
            ["2024-05-01", None, "2024-06-01", "2024-01-01", None, "2024-03-03", "2024-03-03"]
        ),
        "d2": pd.to_datetime(
            ["2024-04-01", "2024-04-01", None, "2024-02-01", None, "2024-03-03", "2024-04-04"]
        ),
    }
)
PROBE[["x", "s"]] = PROBE[["x", "s"]].astype(object)

CONSTRUCTS = {
    "unique": {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x"}},
    "in set, mostly": {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "x", "value_set": ["a", "b"], "mostly": 0.5},
    },
    "in set, mostly unmet": {
        "type": "expect_column_values_to_be_in_set",
        "kwargs": {"column": "x", "value_set": ["a"], "mostly": 0.9},
    },
    "not in set": {
        "type": "expect_column_values_to_not_be_in_set",
        "kwargs": {"column": "s", "value_set": ["A"]},
    },
    "null": {"type": "expect_column_values_to_be_null", "kwargs": {"column": "n"}},
    "not null, IN": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "x",
            "row_condition": {
                "type": "comparison",
                "column": {"name": "s"},
                "operator": "IN",
                "parameter": ["A", "B"],
            },
        },
    },
    "not null, NOT_IN": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "n",
            "row_condition": {
                "type": "comparison",
                "column": {"name": "s"},
                "operator": "NOT_IN",
                "parameter": ["A"],
            },
        },
    },
    "not null, >=": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "x",
            "row_condition": {
                "type": "comparison",
                "column": {"name": "n"},
                "operator": ">=",
                "parameter": 3,
            },
        },
    },
    "not null, nullity": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "x",
            "row_condition": {"type": "nullity", "column": {"name": "n"}, "is_null": False},
        },
    },
    "not null, and": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "n",
            "row_condition": {
                "type": "and",
                "conditions": [
                    {"type": "comparison", "column": {"name": "s"}, "operator": "!=", "parameter": "A"},
                    {"type": "nullity", "column": {"name": "x"}, "is_null": False},
                ],
            },
        },
    },
    "not null, or": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "x",
            "row_condition": {
                "type": "or",
                "conditions": [
                    {"type": "comparison", "column": {"name": "n"}, "operator": "<", "parameter": 2.5},
                    {"type": "comparison", "column": {"name": "s"}, "operator": "==", "parameter": "B"},
                ],
            },
        },
    },
    "not null, == on a column with nulls": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {
            "column": "n",
            "row_condition": {
                "type": "comparison",
                "column": {"name": "x"},
                "operator": "==",
                "parameter": "a",
            },
        },
    },
    "not null, pass-through": {
        "type": "expect_column_values_to_not_be_null",
        "kwargs": {"column": "x", "row_condition": {"type": "pass_through", "pass_through_filter": "n > 1"}},
    },
    "pair, either missing": {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {
            "column_A": "d1",
            "column_B": "d2",
            "or_equal": True,
            "ignore_row_if": "either_value_is_missing",
        },
    },
    "pair, strict, both missing": {
        "type": "expect_column_pair_values_a_to_be_greater_than_b",
        "kwargs": {"column_A": "d1", "column_B": "d2", "ignore_row_if": "both_values_are_missing"},
    },
}


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_each_construct_matches_gx(name: str, reference: GX) -> None:
    definition = _suite(CONSTRUCTS[name])
    compiled = compile_suite(definition)
    assert compiled is not None
    assert _findings(compiled.run(PROBE)) == _findings(reference.failures(definition, PROBE))


@pytest.mark.parametrize(
    "expectation",
    [
        {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "x", "max_value": 3}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "x", "unknown_option": 1}},
        {
            "type": "expect_column_values_to_be_in_set",
            "kwargs": {"column": "x", "value_set": ["a"], "mostly": 2},
        },
        {
            "type": "expect_column_values_to_not_be_null",
            "kwargs": {"column": "x", "row_condition": "s == 'A'"},
        },
    ],
    ids=["other type", "unknown keyword", "bad mostly", "string condition without parser"],
)
def test_what_it_cannot_evaluate_is_left_to_gx(expectation: dict[str, Any]) -> None:
    assert compile_suite(_suite(CONSTRUCTS["unique"], expectation)) is None


def test_the_shipped_suites_compile() -> None:
    for kind in validate.KINDS:
        assert validate.compiled_suite(kind) is not None, kind


def test_cli_reports_the_same_with_either_engine(tmp_path: Path) -> None:
    """`actionplan validate --json` with ACTIONPLAN_VALIDATOR=gx and the default give the same report."""
    path = write_plan(
        plan_for("Finance", "2024/25 Q2", 120, random.Random(11), messy=True), tmp_path / "f.xlsx"
    )
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Actions"]
    ws["A3"].value = ws["A2"].value  # a duplicate Ref
    ws["H4"].value = "Greenish"  # an unknown status word (column H: Status in the template)
    wb.save(path)
    reports = {}
    for engine in ("compiled", "gx"):
        out = subprocess.run(
            [sys.executable, "-m", "actionplan", "validate", "--json", str(path)],
            capture_output=True,
            text=True,
            env={**_env(tmp_path), "ACTIONPLAN_VALIDATOR": engine},
        )
        assert out.returncode in (0, 1), out.stderr
        reports[engine] = json.loads(out.stdout)
    assert reports["compiled"] == reports["gx"]
    codes = {m["code"] for m in reports["gx"]["errors"] + reports["gx"]["warnings"]}
    assert {"duplicate-ref", "unknown-status"} <= codes, codes


def test_an_unknown_engine_is_refused_clearly(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "actionplan", "validate", str(tmp_path / "x.xlsx")],
        capture_output=True,
        text=True,
        env={**_env(tmp_path), "ACTIONPLAN_VALIDATOR": "fast"},
    )
    assert out.returncode != 0
    assert "ACTIONPLAN_VALIDATOR='fast' is not valid: use compiled or gx." in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


def _env(tmp_path: Path) -> dict[str, str]:
    import os

    return {**os.environ, "ACTIONPLAN_HOME": str(tmp_path / "home")}
