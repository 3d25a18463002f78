"""The expectation suites under expectations/, evaluated with pandas directly: the same rules, none of GX's overhead.

Great Expectations costs 0.1-0.3 s per suite run whatever the size of the sheet (it resolves a metric graph
for every expectation on every run), which is most of a Submit round trip. The suites only use a handful of
GX's expectation types; for those this module computes exactly what GX's pandas engine computes: the domain
(row_condition through ``DataFrame.query``, null rows left out of the column-map expectations that ignore them,
``ignore_row_if`` for column pairs), the unexpected rows in frame order, their values, and ``mostly``.

A suite with anything else in it (another expectation type, a keyword we do not evaluate) is not compiled:
``compile_suite`` returns None and the caller runs that suite through GX itself. tests/test_expect.py runs both
engines over generated, familiar-layout and fuzzed frames and requires identical findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

Failure = tuple[dict[str, Any], list[int], list[Any]]

# Keywords that change nothing GX computes about rows (result_format is ours to choose; meta is carried).
_HARMLESS = {"result_format", "catch_exceptions", "meta", "notes", "description", "severity"}


@dataclass(frozen=True)
class _Check:
    meta: dict[str, Any]
    domain: Callable[[pd.DataFrame], pd.DataFrame]
    unexpected: Callable[[pd.DataFrame], np.ndarray]  # on the domain: True where the row fails
    values: Callable[[pd.DataFrame], list[Any]]  # on the failing rows: GX's unexpected_list
    mostly: float | None


@dataclass(frozen=True)
class CompiledSuite:
    """A suite of one sheet kind, ready to run over a normalised frame with a ``row`` column."""

    name: str
    checks: tuple[_Check, ...]

    def run(self, frame: pd.DataFrame) -> list[Failure]:
        """(meta, failing rows, their values) for each expectation that fails, in suite order."""
        failures = []
        for check in self.checks:
            domain = check.domain(frame)
            if domain.empty:
                continue
            bad = check.unexpected(domain)
            count = int(bad.sum())
            if not count:
                continue
            if check.mostly is not None and (len(domain) - count) / len(domain) >= check.mostly:
                continue
            failing = domain.loc[bad]
            failures.append(
                (dict(check.meta), [int(r) for r in failing["row"].tolist()], check.values(failing))
            )
        return failures


def compile_suite(definition: dict[str, Any]) -> CompiledSuite | None:
    """The suite as pandas checks, or None when it uses something only GX itself evaluates."""
    checks = []
    for expectation in definition.get("expectations", []):
        check = _compile(expectation)
        if check is None:
            return None
        checks.append(check)
    return CompiledSuite(definition.get("name", ""), tuple(checks))


def _compile(expectation: dict[str, Any]) -> _Check | None:
    kind, kwargs = str(expectation.get("type")), dict(expectation.get("kwargs") or {})
    builder = _BUILDERS.get(kind)
    if builder is None:
        return None
    mostly = kwargs.pop("mostly", None)
    if mostly is not None and not (isinstance(mostly, int | float) and 0 <= mostly <= 1):
        return None
    condition = _condition(kwargs.pop("row_condition", None), kwargs.pop("condition_parser", None))
    if condition is False or condition is True:
        return None
    built = builder(kwargs)
    if built is None:
        return None
    rows_of, unexpected, values = built
    meta = dict(expectation.get("meta") or {})

    def domain(frame: pd.DataFrame) -> pd.DataFrame:
        return rows_of(condition(frame) if condition else frame)

    return _Check(meta, domain, unexpected, values, None if mostly is None else float(mostly))


# -- the expectation types the suites use ---------------------------------------------------------------------

Built = (
    tuple[
        Callable[[pd.DataFrame], pd.DataFrame],
        Callable[[pd.DataFrame], np.ndarray],
        Callable[[pd.DataFrame], list[Any]],
    ]
    | None
)


def _only(kwargs: dict[str, Any], *allowed: str) -> bool:
    return set(kwargs) - _HARMLESS <= set(allowed)


def _column_map(
    kwargs: dict[str, Any],
    test: Callable[[pd.Series], np.ndarray],
    *,
    skip_nulls: bool = True,
    extra: tuple[str, ...] = (),
) -> Built:
    """A column-map expectation: GX leaves null values out of the domain unless the rule is about nulls."""
    if not _only(kwargs, "column", *extra) or not isinstance(kwargs.get("column"), str):
        return None
    column: str = kwargs["column"]

    def rows_of(frame: pd.DataFrame) -> pd.DataFrame:
        if column not in frame:
            raise KeyError(f"the frame has no column '{column}'")
        return frame.loc[frame[column].notna()] if skip_nulls else frame

    return (rows_of, lambda d: np.asarray(test(d[column]), dtype=bool), lambda f: f[column].tolist())


def _not_null(kwargs: dict[str, Any]) -> Built:
    return _column_map(kwargs, lambda s: s.isna().to_numpy(), skip_nulls=False)


def _null(kwargs: dict[str, Any]) -> Built:
    return _column_map(kwargs, lambda s: s.notna().to_numpy(), skip_nulls=False)


def _unique(kwargs: dict[str, Any]) -> Built:
    return _column_map(kwargs, lambda s: s.duplicated(keep=False).to_numpy())


def _in_set(kwargs: dict[str, Any]) -> Built:
    values = kwargs.get("value_set")
    if not isinstance(values, list):
        return None
    return _column_map(kwargs, lambda s: ~s.isin(values).to_numpy(), extra=("value_set",))


def _not_in_set(kwargs: dict[str, Any]) -> Built:
    values = kwargs.get("value_set")
    if not isinstance(values, list):
        return None
    return _column_map(kwargs, lambda s: s.isin(values).to_numpy(), extra=("value_set",))


def _pair_greater(kwargs: dict[str, Any]) -> Built:
    if not _only(kwargs, "column_A", "column_B", "or_equal", "ignore_row_if"):
        return None
    a, b, or_equal = kwargs.get("column_A"), kwargs.get("column_B"), bool(kwargs.get("or_equal"))
    ignore = kwargs.get("ignore_row_if", "both_values_are_missing")
    if not (isinstance(a, str) and isinstance(b, str)) or ignore not in (
        "both_values_are_missing",
        "either_value_is_missing",
        "neither",
    ):
        return None

    def rows_of(frame: pd.DataFrame) -> pd.DataFrame:
        missing_a, missing_b = frame[a].isna(), frame[b].isna()
        if ignore == "either_value_is_missing":
            return frame.loc[~(missing_a | missing_b)]
        if ignore == "both_values_are_missing":
            return frame.loc[~(missing_a & missing_b)]
        return frame

    def unexpected(d: pd.DataFrame) -> np.ndarray:
        passed = d[a] >= d[b] if or_equal else d[a] > d[b]
        return ~passed.fillna(False).to_numpy(dtype=bool)

    return (rows_of, unexpected, lambda f: list(zip(f[a].tolist(), f[b].tolist(), strict=True)))


_BUILDERS: dict[str, Callable[[dict[str, Any]], Built]] = {
    "expect_column_values_to_not_be_null": _not_null,
    "expect_column_values_to_be_null": _null,
    "expect_column_values_to_be_unique": _unique,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_values_to_not_be_in_set": _not_in_set,
    "expect_column_pair_values_a_to_be_greater_than_b": _pair_greater,
}


# -- row conditions: what GX's pandas engine selects with DataFrame.query, as pandas masks ----------------------

_COMPARE = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
Mask = Callable[[pd.DataFrame], pd.Series]


def _condition(condition: Any, parser: Any) -> Callable[[pd.DataFrame], pd.DataFrame] | None | bool:
    """A filter for the row_condition (None when there is none; False when it is not one we can evaluate)."""
    if condition is None:
        return None
    if isinstance(condition, str):
        if parser != "pandas":
            return False
        return lambda frame: frame.query(condition)
    if not isinstance(condition, dict):
        return False
    if condition.get("type") == "pass_through":
        text = condition.get("pass_through_filter")
        return (lambda frame: frame.query(text)) if isinstance(text, str) else False
    mask = _mask(condition)
    if mask is None:
        return False
    return lambda frame: frame.loc[mask(frame).to_numpy(dtype=bool)]


def _mask(condition: dict[str, Any]) -> Mask | None:
    """The rows a structured condition selects (GX renders it as query text; query runs these same operations)."""
    kind = condition.get("type")
    if kind == "comparison":
        name, op, value = _column_name(condition), condition.get("operator"), condition.get("parameter")
        if name is None:
            return None
        column: str = name  # narrowed once, for the lambdas below
        if op in ("IN", "NOT_IN"):
            if not isinstance(value, list | tuple):
                return None
            values = list(value)
            return (lambda f: f[column].isin(values)) if op == "IN" else (lambda f: ~f[column].isin(values))
        if op not in _COMPARE or not isinstance(value, str | int | float | bool):
            return None
        method = _COMPARE[op]
        return lambda f: getattr(f[column], method)(value).fillna(False)
    if kind == "nullity":
        name = _column_name(condition)
        if name is None:
            return None
        null_column: str = name
        return (
            (lambda f: f[null_column].isna())
            if condition.get("is_null")
            else (lambda f: f[null_column].notna())
        )
    if kind in ("and", "or"):
        parts = [_mask(c) for c in condition.get("conditions") or []]
        if not parts or any(p is None for p in parts):
            return None

        def combined(f: pd.DataFrame) -> pd.Series:
            result = parts[0](f)  # type: ignore[misc]
            for part in parts[1:]:
                result = (result & part(f)) if kind == "and" else (result | part(f))  # type: ignore[misc]
            return result

        return combined
    return None


def _column_name(condition: dict[str, Any]) -> str | None:
    column = condition.get("column")
    name = column.get("name") if isinstance(column, dict) else column
    return name if isinstance(name, str) else None
