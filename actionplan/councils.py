"""Councils: the names one warehouse keeps apart, and which council a command means.

A single-council install never names its council: everything it holds belongs to DEFAULT_COUNCIL. Several
councils share one warehouse by each setting ACTIONPLAN_COUNCIL; two of them may both have a "Finance".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import quote_plus

from .errors import UnknownCouncil
from .vocabulary import period_from_text

# The council of an install that never named one, and of every row loaded before councils existed (migration
# 0002 writes the same word). A submission's id leaves the council out for this one, so old ids stay valid.
DEFAULT_COUNCIL = "default"
# `--council all`: every council together in one combined rollup. Reserved: no council may be called this.
ALL_COUNCILS = "all"
# What the combined rollup writes between a council and its department, and calls its grand total.
LABEL_SEPARATOR = " — "
ALL_COUNCILS_TOTAL = "All councils total"
MAX_NAME_LENGTH = 100

_SPACES = re.compile(r"\s+")
_RESERVED = {ALL_COUNCILS, "all councils", "all-councils"}


def council_name(text: object) -> str:
    """A council's name as stored: whitespace collapsed; ValueError saying why when it cannot be one."""
    name = _SPACES.sub(" ", str(text if text is not None else "")).strip()
    if not name:
        raise ValueError("a council needs a name (leave the setting out for a single council)")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"a council's name has at most {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ValueError("a council's name cannot hold control characters")
    if name.casefold() in _RESERVED:
        raise ValueError(f"'{name}' is reserved for the combined rollup of every council (--council all)")
    if period_from_text(name) is not None:  # keeps submission ids apart (warehouse.inbox.submission_id)
        raise ValueError(f"'{name}' reads as a reporting period, not a council")
    return DEFAULT_COUNCIL if name.casefold() == DEFAULT_COUNCIL else name


def council_on_record(requested: str | None, on_record: Iterable[str], configured: str) -> str:
    """The council a command means: the configured one when none is given, ALL_COUNCILS for `all`, or one on
    record (matched ignoring case and spacing, returned as recorded); UnknownCouncil listing them otherwise."""
    if requested is None:
        return configured
    wanted = _SPACES.sub(" ", requested).strip()
    if wanted.casefold() == ALL_COUNCILS:
        return ALL_COUNCILS
    recorded = sorted(set(on_record), key=lambda n: (n.casefold(), n))
    for name in (*recorded, configured):
        if name == wanted:
            return name
    matches = {name for name in (*recorded, configured) if name.casefold() == wanted.casefold()}
    if len(matches) == 1:
        return matches.pop()
    names = ", ".join(f"'{n}'" for n in recorded)
    listed = f"Councils on record: {names}." if recorded else "No council is on record yet."
    raise UnknownCouncil(
        f"No council called '{requested}' is on record. {listed} "
        f"Use --council {ALL_COUNCILS} for every council together."
    )


def council_label(council: str, department: str) -> str:
    """A department as the combined rollup names it: 'Rotherham — Finance'."""
    return f"{council}{LABEL_SEPARATOR}{department}"


def council_in_file_name(council: str) -> str:
    """The council's part of a file name (rollups, access keys): nothing for the default council, so a single
    council's files keep their names; else its name made safe for any file system, reversibly (quote_plus), so no
    two councils ever share a file."""
    if council == DEFAULT_COUNCIL:
        return ""
    if council == ALL_COUNCILS:
        return "all-councils"
    return quote_plus(council, safe="")


def council_slug(council: str) -> str:
    """A short readable name for a council in identifiers (deployment names): 'St. Helens' → 'st-helens'."""
    return re.sub(r"[^0-9a-z]+", "-", council.casefold()).strip("-") or "council"
