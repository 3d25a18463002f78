"""The Submit round trip's core: workbook → read → layout → normalise → validate → a Submission with its report."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from .columns import SHEET_TITLES
from .errors import UnreadableWorkbook
from .layout_choice import choose_layout
from .layouts import Layout, layout_named, load_layouts
from .model import ERROR, WARNING, Message, Submission
from .normalise import submission_from_tables
from .plan_checks import previous_snapshot, snapshot_checks
from .read import Book, book_from_xlsx, book_from_xlwings
from .register import Register, fold_name
from .settings import Settings, load_settings
from .tables import tables_from_book
from .validate import _letters, validate_submission

MAX_MESSAGES = 1000  # listed per check; the rest are counted (see messages_within_limit)


log = logging.getLogger("actionplan.check")


@lru_cache(maxsize=8)
def _layouts(dirs: tuple[Path, ...]) -> dict[str, Layout]:
    skipped: list[str] = []
    layouts = load_layouts(list(dirs), skipped=skipped)
    for problem in skipped:  # once per process: the admin reads it in the service log or under the command
        log.warning("%s", problem)
    return layouts


def available_layouts(settings: Settings | None = None) -> dict[str, Layout]:
    """Every layout the settings make available (built-in plus the council's folder)."""
    settings = settings or load_settings()
    return _layouts(tuple(settings.layout_dirs))


def check_workbook(
    data: bytes,
    name: str,
    *,
    department: str | None = None,
    period: str | None = None,
    layout: str | None = None,
    expected_department: str | None = None,
    settings: Settings | None = None,
) -> Submission:
    """Check one .xlsx/.xlsm file's bytes; an unreadable file becomes a rejected Submission, not an exception."""
    try:
        book = book_from_xlsx(data, name)
    except UnreadableWorkbook as exc:
        return Submission(
            file=name,
            department=expected_department or department,
            period=period,
            layout="",
            messages=[Message(ERROR, getattr(exc, "code", "unreadable-file"), None, None, None, str(exc))],
        )
    except (
        Exception
    ):  # a file no test has met yet: the department gets an answer, the batch goes on, the log has it
        log.exception("reading %s failed unexpectedly", name)
        return Submission(
            file=name,
            department=expected_department or department,
            period=period,
            layout="",
            messages=[
                Message(
                    ERROR,
                    "unreadable-file",
                    None,
                    None,
                    None,
                    (
                        f"{name} could not be read: something in it is not as Excel writes it. Open it in "
                        "Excel, save it as a new .xlsx (File > Save As) and submit that; if it happens again, "
                        "send the file to corporate performance."
                    ),
                )
            ],
        )
    return check_book(
        book,
        department=department,
        period=period,
        layout=layout,
        expected_department=expected_department,
        settings=settings,
    )


def check_xlwings(payload: dict, **kwargs) -> Submission:
    """Check the workbook the Excel add-in sent as xlwings JSON."""
    try:
        book = book_from_xlwings(payload)
    except UnreadableWorkbook as exc:
        return Submission(
            file="workbook",
            department=kwargs.get("expected_department"),
            period=None,
            layout="",
            messages=[Message(ERROR, "unreadable-file", None, None, None, str(exc))],
        )
    return check_book(book, **kwargs)


def check_book(
    book: Book,
    *,
    department: str | None = None,
    period: str | None = None,
    layout: str | None = None,
    expected_department: str | None = None,
    settings: Settings | None = None,
) -> Submission:
    """Map, normalise and validate a read workbook."""
    settings = settings or load_settings()
    layouts = available_layouts(settings)
    chosen = layout_named(layout, layouts) if layout else choose_layout(book, layouts)
    tables, messages = tables_from_book(book, chosen)
    messages = [n for n in book.notes if not _in_a_header(n, tables)] + list(messages)
    if not tables and not any(m.level == ERROR for m in messages):
        sheets = ", ".join(f"'{s.name}'" for s in book.sheets) or "none"
        return Submission(
            file=book.name,
            department=expected_department or department,
            period=period,
            layout=chosen.name,
            messages=[
                Message(
                    ERROR,
                    "no-usable-sheet",
                    None,
                    None,
                    None,
                    f"no Actions, Objectives or KPIs sheet was found (sheets: {sheets}). Use the "
                    f"actionplan template, or name a sheet {', '.join(SHEET_TITLES.values())} with its "
                    "column headings in row 1.",
                )
            ],
        )
    sub = submission_from_tables(
        book,
        chosen,
        tables,
        messages,
        department=expected_department or department,
        period=period,
        tolerance=settings.tolerance,
    )
    register = _register(settings)
    if expected_department:
        expected_department = (
            register.spelling(expected_department) if not register.is_empty() else expected_department
        )
    if (
        expected_department
        and sub.department
        and not _same_department(sub.department, expected_department, register)
    ):
        sub.messages.append(
            Message(
                ERROR,
                "wrong-department",
                chosen.plan_sheet,
                None,
                sub.department,
                f"this workbook is for '{sub.department}' but you are signed in for '{expected_department}'. "
                "Submit your own department's plan, or ask corporate performance for the right access.",
            )
        )
    elif sub.department:
        # Another spelling of the same department ('FINANCE', 'ﬁnance') is stored under the key's or the register's.
        sub.department = expected_department or (
            sub.department if register.is_empty() else register.spelling(sub.department)
        )
    if sub.accepted or not any(
        m.code in ("unreadable-file", "no-usable-sheet", "missing-column") for m in sub.errors
    ):
        validate_submission(
            sub, settings.validator, limit=MAX_MESSAGES, plausible_ratio=settings.plausible_ratio
        )
    if sub.accepted and not sub.actions.empty:
        # Last period's plan as the flows published it: stale commentary and slips are told now, while the
        # department can still fix them, not only at consolidation.
        previous = previous_snapshot(settings.home_path, settings.council, sub.period, sub.department)
        if previous:
            letters = {sheet: _letters(info) for sheet, info in sub.columns.items()}
            sub.messages = list(sub.messages) + snapshot_checks(sub.actions, previous, letters)
    sub.messages = messages_within_limit(sub.messages, counted=sub.unlisted)
    return sub


def _in_a_header(note: Message, tables: list) -> bool:
    """Whether a merged-cells note is about a stacked header's merged headings (the shape, not a problem)."""
    if note.code != "merged-cells" or not note.cell:
        return False
    row = int("".join(ch for ch in note.cell if ch.isdigit()) or 0)
    return any(t.sheet == note.sheet and t.header_row <= row < t.header_row + t.header_rows for t in tables)


def messages_within_limit(
    messages: list[Message], limit: int = MAX_MESSAGES, counted: int = 0
) -> list[Message]:
    """At most `limit` messages, errors first, in their order, and one more saying how many were left out
    (`counted`: findings already left out by the validation itself).

    A 30,000-row sheet of mistakes would otherwise answer with 90,000 messages (and colour as many cells in Excel):
    no one reads past the first screenful, and the report must stay small enough to send back at once.
    """
    if len(messages) <= limit and not counted:
        return messages
    errors = [i for i, m in enumerate(messages) if m.level == ERROR]
    warnings = [i for i, m in enumerate(messages) if m.level != ERROR]
    kept = set(errors[:limit]) | set(warnings[: max(0, limit - len(errors))])
    left = len(messages) - len(kept) + counted
    note = Message(
        ERROR if errors else WARNING,
        "too-many-messages",
        None,
        None,
        None,
        f"the check stopped listing problems at {limit:,}; {left:,} more were found and are not listed. "
        "Correct these (often one mistake repeated down a column) and check again to see the rest.",
    )
    return [m for i, m in enumerate(messages) if i in kept] + [note]


def _norm(text: str) -> str:
    return fold_name(text)


def _same_department(named: str, expected: str, register: Register) -> bool:
    """Whether a workbook's department is the expected one, in any spelling or by a former (renamed) name."""
    if _norm(named) == _norm(expected):
        return True
    found = None if register.is_empty() else register.department(named)
    return found is not None and _norm(found.name) == _norm(expected)


_REGISTERS: dict[Path, Register] = {}


def _register(settings: Settings) -> Register:
    """The council's register, one instance per file (it re-reads itself only when the file changes)."""
    path = Register.for_settings(settings).path
    return _REGISTERS.setdefault(path, Register(path))
