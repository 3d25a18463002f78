"""The history of every submission: who sent what, when, by which channel, its outcome, and the workbook as received.

Read from the inbox's records (waiting and loaded), its rejected archive and its audit log, and from the register
(returns); never from the warehouse, so it answers while a load holds the warehouse.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actionplan.councils import DEFAULT_COUNCIL
from actionplan.errors import ActionplanError
from actionplan.register import Register, Return, fold_name
from actionplan.vocabulary import period_from_text

from .inbox import Inbox

SHORT_ID = 12  # how many characters of an id are printed; any unique start of at least MIN_ID finds it
MIN_ID = 6


class UnknownSubmission(ActionplanError):
    """No submission on file has that id."""


class WorkbookNotKept(ActionplanError):
    """The workbook of a submission is not in the archive."""


@dataclass
class Entry:
    """One submission attempt as the inbox recorded it."""

    id: str
    council: str
    department: str
    period: str
    submitted_at: dt.datetime
    submitted_by: str | None
    file: str | None
    outcome: str  # accepted or rejected
    state: str  # waiting to load, loaded, rejected
    raw: str | None  # the archived file's name
    channel: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    returned: Return | None = None

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("level") == "warning"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("level") == "error"]

    def public(self) -> dict[str, Any]:
        """The entry as JSON-ready data (what the admin API answers)."""
        return {
            "id": self.id,
            "council": self.council,
            "department": self.department,
            "period": self.period,
            "submitted_at": self.submitted_at.isoformat(timespec="seconds"),
            "submitted_by": self.submitted_by,
            "file": self.file,
            "channel": self.channel,
            "outcome": self.outcome,
            "state": self.state,
            "warnings": self.warnings,
            "errors": self.errors,
            "returned": None
            if self.returned is None
            else {"comment": self.returned.comment, "by": self.returned.by, "at": self.returned.at},
        }


def _when(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(str(text))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _accepted(path: Path, state: str) -> Entry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Entry(
            data["id"],
            data.get("council") or DEFAULT_COUNCIL,
            data["department"],
            data["period"],
            _when(data["submitted_at"]),
            data.get("submitted_by"),
            data.get("file"),
            "accepted",
            state,
            f"{data['sha256']}.{data.get('file_ext') or 'xlsx'}",
            messages=list(data.get("messages") or []),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # moved meanwhile, or damaged: the ingest flow reports damaged records


def _rejected(path: Path) -> Entry | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        report = data.get("report") or {}
        period = period_from_text(report.get("period"))
        return Entry(
            path.stem,
            data.get("council") or DEFAULT_COUNCIL,
            report.get("department") or "",
            period.label if period else str(report.get("period") or ""),
            _when(data["submitted_at"]),
            data.get("submitted_by"),
            report.get("file"),
            "rejected",
            "rejected",
            data.get("raw"),
            messages=[{"level": "error", **m} for m in report.get("errors", [])]
            + [{"level": "warning", **m} for m in report.get("warnings", [])],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def submissions_on_file(
    inbox: Inbox,
    register: Register,
    council: str = DEFAULT_COUNCIL,
    *,
    period: str | None = None,
    department: str | None = None,
) -> list[Entry]:
    """Every submission of a council on file, newest first, optionally of one period and one department (in any
    spelling), with its channel (from the audit log) and its return."""
    entries: list[Entry] = []
    for folder, state in ((inbox.loaded_dir, "loaded"), (inbox.pending_dir, "waiting to load")):
        entries += [
            e for p in folder.glob("*.json") if not p.name.startswith(".") and (e := _accepted(p, state))
        ]
    entries += [e for p in inbox.rejected_dir.glob("*.json") if (e := _rejected(p))]
    entries = [e for e in entries if e.council == council]
    if period:
        entries = [e for e in entries if e.period == period]
    if department:
        wanted = fold_name(register.spelling(department))
        entries = [e for e in entries if fold_name(register.spelling(e.department)) == wanted]
    channels = _channels(inbox)
    returns = register.returns()
    for e in entries:
        e.department = register.spelling(e.department) or e.department
        e.channel = channels.get(e.id) or channels.get(
            (e.raw or "").split(".")[0][:64] + e.submitted_at.isoformat()
        )
        e.returned = returns.get(e.id)
    return sorted(entries, key=lambda e: (e.submitted_at, e.id), reverse=True)


def _channels(inbox: Inbox) -> dict[Any, str]:
    """Submission id (or, for a rejection, raw hash + time) → the channel it came by (cli, upload, xlwings)."""
    out: dict[Any, str] = {}
    for entry in inbox.audit_log():
        channel = entry.get("channel")
        if not channel:
            continue
        if entry.get("submission_id") and entry.get("outcome") == "accepted":
            out[entry["submission_id"]] = channel
        elif entry.get("outcome") == "rejected" and entry.get("sha256"):
            out[entry["sha256"] + _when(entry["at"]).isoformat()] = channel
    return out


def submission_on_file(inbox: Inbox, register: Register, council: str, wanted: str) -> Entry:
    """The submission an id (or a unique start of one, at least six characters) names; UnknownSubmission if none."""
    wanted = (wanted or "").strip()
    everything = submissions_on_file(inbox, register, council)
    exact = [e for e in everything if e.id == wanted]
    if exact:
        return exact[0]
    found = [e for e in everything if len(wanted) >= MIN_ID and e.id.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    if found:
        raise UnknownSubmission(f"'{wanted}' is the start of several submissions' ids; give more of it.")
    raise UnknownSubmission(
        f"No submission with id '{wanted}' is on file. See `actionplan submissions list`."
    )


def workbook_of(inbox: Inbox, entry: Entry) -> tuple[bytes, str]:
    """The workbook as received and a file name for it: an uploaded file's bytes as archived, or, for the add-in
    (which sends the sheets' values, not a file), a real .xlsx rebuilt from them."""
    if not entry.raw:
        raise WorkbookNotKept(f"The workbook of submission {entry.id[:SHORT_ID]} was not archived.")
    path = inbox.archive_dir / Path(entry.raw).name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WorkbookNotKept(
            f"The workbook of submission {entry.id[:SHORT_ID]} is no longer in the archive ({path})."
        ) from None
    stem = Path(entry.file or "workbook").stem or "workbook"
    if path.suffix != ".json":
        return data, f"{stem}{path.suffix}"
    return xlsx_from_sheets(json.loads(data.decode("utf-8"))), f"{stem}.xlsx"


def xlsx_from_sheets(sheets: list[dict[str, Any]]) -> bytes:
    """An .xlsx holding the add-in's sheets (name and values), every value as sent: text stays text, even '=…'."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet in sheets:
        ws = wb.create_sheet(str(sheet.get("name") or "Sheet")[:31])
        for r, row in enumerate(sheet.get("values") or [], start=1):
            for c, value in enumerate(row or [], start=1):
                if value in (None, ""):
                    continue
                cell = ws.cell(
                    row=r, column=c, value=value if isinstance(value, (int, float, str)) else str(value)
                )
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # openpyxl would store it as a live formula
    if not wb.sheetnames:
        wb.create_sheet("Sheet")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def return_submission(
    inbox: Inbox,
    register: Register,
    council: str,
    wanted: str,
    comment: str,
    *,
    by: str,
    now: dt.datetime | None = None,
) -> tuple[Entry, Return]:
    """Send an accepted submission back to its department with a comment: it stops being the department's current
    plan until the department submits again; the return is recorded in the register and the audit log."""
    comment = " ".join(str(comment or "").split())
    if not comment:
        raise ActionplanError('Say why the plan is returned: --comment "please add the KPIs".')
    entry = submission_on_file(inbox, register, council, wanted)
    if entry.outcome != "accepted":
        raise ActionplanError(
            f"Submission {entry.id[:SHORT_ID]} was rejected, so it was never the department's "
            "plan; there is nothing to return."
        )
    now = now or dt.datetime.now(dt.UTC)
    ret = register.add_return(
        Return(entry.id, entry.department, entry.period, comment, by, now.replace(microsecond=0).isoformat())
    )
    inbox.audit(
        {
            "at": now.isoformat(),
            "who": by,
            "channel": "return",
            "outcome": "returned",
            "council": council,
            "department": entry.department,
            "period": entry.period,
            "submission_id": entry.id,
            "comment": comment,
        }
    )
    entry.returned = ret
    return entry, ret
