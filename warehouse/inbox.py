"""The inbox: accepted submissions written durably (raw bytes archived, normalised records as JSON), waiting to load."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from actionplan.councils import DEFAULT_COUNCIL
from actionplan.files import create_atomic, sweep_temp_files, write_atomic
from actionplan.macros import without_macros
from actionplan.model import Submission

RECORD_VERSION = 2  # 2: tables as columns; records of version 1 (a dict per row) still load


def content_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def submission_id(data: bytes, department: str, period: str, council: str = DEFAULT_COUNCIL) -> str:
    """The submission's identity: SHA-256 of its content + department + period + council (same bytes twice for
    the same council is one submission; for two councils, two).

    The default council is left out of the hash, so every id made before councils existed is still the id of
    the same submission. Another council's name goes after one more NUL, where a default-council id ends with its
    period: no council may be named like a period (councils.council_name), so the two never hash the same text.
    """
    h = hashlib.sha256(data)
    h.update(b"\0" + department.encode("utf-8") + b"\0" + period.encode("utf-8"))
    if council != DEFAULT_COUNCIL:
        h.update(b"\0" + council.encode("utf-8"))
    return h.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__}")


def _table(frame: pd.DataFrame) -> dict[str, Any] | list:
    """A sheet's rows as columns (record version 2): a list per field, blanks as None. Building and reading a
    dict per row cost more than normalising the sheet did."""
    if frame.empty:
        return []
    return {"rows": len(frame), "columns": {str(name): _plain(frame[name]) for name in frame.columns}}


def _plain(column: pd.Series) -> list[Any]:
    """A column as JSON-ready values: blanks (None, NaN, NA, NaT) as None, dates as ISO text. Plain Python on
    the column's list: each pandas operation costs more than the whole list comprehension."""
    kind = column.dtype.kind
    if kind in "biu":
        return column.tolist()
    if kind == "f":
        return [None if v != v else v for v in column.tolist()]
    return [
        None
        if v is None or (v.__class__ is float and v != v) or v is pd.NA or v is pd.NaT
        else v.isoformat()
        if isinstance(v, dt.date)
        else v
        for v in column.tolist()
    ]


TABLE_FIELDS = ("objectives", "actions", "kpis", "messages")  # a record's last fields: its rows


def record_tables(sub: Submission) -> dict[str, Any]:
    """A submission's rows and messages as a record holds them (TABLE_FIELDS)."""
    return {
        "objectives": _table(sub.objectives),
        "actions": _table(sub.actions),
        "kpis": _table(sub.kpis),
        "messages": [{"level": m.level, **m.as_dict()} for m in sub.messages],
    }


def _json(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def encoded_tables(sub: Submission) -> dict[str, str]:
    """record_tables as JSON text, made where the submission was checked (a batch's worker): the process that
    queues it then needs none of its rows (Inbox.submit's tables_json)."""
    return {name: _json(value) for name, value in record_tables(sub).items()}


def record_body(head: dict[str, Any], tables_json: dict[str, str]) -> bytes:
    """A record as its file holds it: its head (record_head) and its TABLE_FIELDS already encoded (encoded_tables),
    joined as json.dumps would join the whole (a JSON object is its members' JSON, in order)."""
    members = [f"{_json(k)}: {_json(v)}" for k, v in head.items()]
    members += [f"{_json(name)}: {tables_json[name]}" for name in TABLE_FIELDS]
    return ("{" + ", ".join(members) + "}").encode("utf-8")


def record_head(
    sub: Submission,
    data: bytes,
    *,
    submitted_by: str,
    submitted_at: dt.datetime,
    file_ext: str = "xlsx",
    council: str = DEFAULT_COUNCIL,
) -> dict[str, Any]:
    """Everything the warehouse needs of an accepted submission but its rows (TABLE_FIELDS), JSON-ready."""
    return {
        "version": RECORD_VERSION,
        "id": submission_id(data, sub.department or "", sub.period or "", council),
        "sha256": content_sha256(data),
        "council": council,  # near the top: councils_waiting() reads only the head of each record
        "file": sub.file,
        "file_ext": file_ext,
        "department": sub.department,
        "period": sub.period,
        "layout": sub.layout,
        "plan_title": sub.plan_title,
        "as_at": sub.as_at,
        "contact": sub.contact,
        "submitted_by": submitted_by,
        "submitted_at": submitted_at,
        "columns": sub.columns,
    }


@dataclass
class Receipt:
    """What putting a submission in the inbox did."""

    id: str
    new: bool  # False when the same bytes for the same council, department and period were already received


class Inbox:
    """A folder of pending and loaded submission records plus an archive of raw files."""

    def __init__(self, inbox_dir: Path, archive_dir: Path) -> None:
        self.pending_dir = inbox_dir / "pending"
        self.loaded_dir = inbox_dir / "loaded"
        self.archive_dir = archive_dir
        self.rejected_dir = archive_dir / "rejected"
        self.audit_path = archive_dir / "audit.jsonl"
        for d in (self.pending_dir, self.loaded_dir, self.archive_dir, self.rejected_dir):
            d.mkdir(parents=True, exist_ok=True)
        # A writer killed mid-write leaves its temp file; sweep those older than a minute (never a live one).
        for d in (self.archive_dir, self.rejected_dir, self.loaded_dir):
            sweep_temp_files(d)

    def archive_raw(self, data: bytes, ext: str) -> Path:
        """Keep the submitted bytes under their SHA-256, once; macros are stripped, never kept."""
        path = self.archive_dir / f"{content_sha256(data)}.{ext}"
        create_atomic(path, without_macros(data))
        return path

    def known(self, rid: str) -> bool:
        """Whether a submission with this id is already waiting or loaded."""
        return (self.pending_dir / f"{rid}.json").exists() or (self.loaded_dir / f"{rid}.json").exists()

    def put(self, record: dict[str, Any], data: bytes, tables_json: dict[str, str]) -> Receipt:
        """Archive the raw bytes and queue the record (its head, and its rows encoded: record_body); identical
        resubmissions are recognised, not queued twice."""
        self.archive_raw(data, record.get("file_ext", "xlsx"))
        rid = record["id"]
        if (self.loaded_dir / f"{rid}.json").exists():
            return Receipt(rid, new=False)
        body = record_body(record, tables_json)
        return Receipt(rid, new=create_atomic(self.pending_dir / f"{rid}.json", body))

    def submit(
        self,
        sub: Submission,
        data: bytes,
        *,
        submitted_by: str,
        ext: str = "xlsx",
        now: dt.datetime | None = None,
        channel: str = "cli",
        council: str = DEFAULT_COUNCIL,
        tables_json: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue an accepted submission for a council (or archive a rejected one); its report, with the receipt
        when accepted. tables_json: its rows already encoded (encoded_tables), where sub came without them.

        Every attempt, whatever its outcome, leaves one line in the audit log (who, when, what, outcome).
        """
        now = now or dt.datetime.now(dt.UTC)
        report = sub.report()
        if sub.accepted:
            rid = submission_id(data, sub.department or "", sub.period or "", council)
            if self.known(rid):  # the same bytes again: answer at once, without building the record
                receipt = Receipt(rid, new=False)
            else:
                record = record_head(
                    sub, data, submitted_by=submitted_by, submitted_at=now, file_ext=ext, council=council
                )
                receipt = self.put(record, data, encoded_tables(sub) if tables_json is None else tables_json)
            report["submission_id"] = receipt.id
            report["new"] = receipt.new
            outcome = "accepted" if receipt.new else "duplicate"
        else:
            self.reject(report, data, submitted_by=submitted_by, submitted_at=now, ext=ext, council=council)
            outcome = "rejected"
        self.audit(
            {
                "at": now.isoformat(),
                "who": submitted_by,
                "channel": channel,
                "outcome": outcome,
                "council": council,
                "department": sub.department,
                "period": sub.period,
                "file": sub.file,
                "sha256": content_sha256(data),
                "submission_id": report.get("submission_id"),
                "errors": len(report["errors"]),
                "warnings": len(report["warnings"]),
            }
        )
        return report

    def audit(self, entry: dict[str, Any]) -> None:
        """Append one line to the audit log; O_APPEND keeps concurrent writers' lines whole."""
        line = (json.dumps(entry, default=_json_default, ensure_ascii=False) + "\n").encode("utf-8")
        fd = os.open(self.audit_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def audit_log(self) -> list[dict[str, Any]]:
        """Every audited attempt, oldest first."""
        if not self.audit_path.exists():
            return []
        return [json.loads(line) for line in self.audit_path.read_text(encoding="utf-8").splitlines() if line]

    def reject(
        self,
        report: dict[str, Any],
        data: bytes,
        *,
        submitted_by: str,
        submitted_at: dt.datetime,
        ext: str = "xlsx",
        council: str = DEFAULT_COUNCIL,
    ) -> Path:
        """Archive a rejected file with its report (it never reaches the warehouse)."""
        raw = self.archive_raw(data, ext)
        stamp = submitted_at.strftime("%Y%m%dT%H%M%S%f")
        body = {
            "report": report,
            "raw": raw.name,
            "council": council,
            "submitted_by": submitted_by,
            "submitted_at": submitted_at.isoformat(),
        }
        path = self.rejected_dir / f"{stamp}-{raw.stem[:12]}.json"
        write_atomic(path, json.dumps(body, default=_json_default, ensure_ascii=False, indent=1).encode())
        return path

    def pending(self) -> list[Path]:
        """Records waiting to load, oldest submission first."""
        sweep_temp_files(self.pending_dir)
        paths = list(self.pending_dir.glob("*.json"))
        return sorted(paths, key=lambda p: (_submitted_at(p), p.name))

    def councils_waiting(self) -> set[str]:
        """The councils of the records waiting to load (a record from before councils: the default council)."""
        return {_field_in_head(path, "council") or DEFAULT_COUNCIL for path in self.pending()}

    def read(self, path: Path) -> dict[str, Any]:
        return json.loads(path.read_text(encoding="utf-8"))

    def loaded_record(self, rid: str) -> dict[str, Any] | None:
        """The record of a loaded submission, as it was loaded; None when it is not in the loaded folder."""
        try:
            return self.read(self.loaded_dir / f"{rid}.json")
        except (OSError, ValueError):
            return None

    def record(self, rid: str) -> dict[str, Any] | None:
        """A submission's record, pending or loaded (the same file: loading moves it); None when in neither."""
        for folder in (
            self.pending_dir,
            self.loaded_dir,
        ):  # pending first: a load moves it from there to loaded
            try:
                return self.read(folder / f"{rid}.json")
            except (OSError, ValueError):
                continue
        return None

    def head(self, path: Path) -> dict[str, Any]:
        """The string fields near the top of a record (id, council, department, period, submitted_at, …), read
        from its first 4 KB without parsing the rest; a field not there is absent."""
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read(4096)
        except OSError:
            return {}
        end = text.find(', "columns": ')  # the fields before the record's tables
        found: dict[str, Any] = {}
        if end < 0:
            return found
        try:
            found = json.loads(text[:end] + "}")
        except ValueError:
            return {}
        return {k: v for k, v in found.items() if isinstance(v, str)}

    def mark_loaded(self, path: Path) -> None:
        """Move a loaded record out of pending (kept for audit and replay)."""
        try:
            os.replace(path, self.loaded_dir / path.name)
        except FileNotFoundError:
            pass  # another ingest worker moved it first

    def rejected(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.rejected_dir.glob("*.json"))]

    def rejected_unreported(self) -> list[dict[str, Any]]:
        """The rejections archived since the last call (what an ingest run reports), oldest first; each is
        reported once (the last one reported is remembered in the inbox folder)."""
        marker = self.pending_dir.parent / "rejections-reported"
        last = marker.read_text(encoding="utf-8").strip() if marker.exists() else ""
        # Names start with the submission time (YYYYmmddTHHMMSSffffff), so their order is the time order.
        paths = [p for p in sorted(self.rejected_dir.glob("*.json")) if p.name > last]
        found = []
        for path in paths:
            try:
                found.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        if paths:
            write_atomic(marker, paths[-1].name.encode("utf-8"))
        return found


def _submitted_at(path: Path) -> str:
    # The submission time sits near the top of the record; reading the whole file to sort is wasteful.
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
        marker = '"submitted_at": "'
        i = head.find(marker)
        return head[i + len(marker) : i + len(marker) + 32] if i >= 0 else ""
    except OSError:
        return ""


def _field_in_head(path: Path, name: str) -> str | None:
    """A string field near the top of a record, read from its first 4 KB (None when absent or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            head = fh.read(4096)
        marker = f'"{name}": '
        i = head.find(marker)
        if i < 0:
            return None
        value, _ = json.JSONDecoder().raw_decode(head, i + len(marker))
        return value if isinstance(value, str) else None
    except (OSError, ValueError):
        return None
