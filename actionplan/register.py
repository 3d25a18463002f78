"""The quarter's register: a council's departments and their contacts, deadlines, returned plans and reminders sent.

Kept in one JSON file in the home folder (register.json, or register-<council>.json for a council sharing a home),
not in the warehouse: the service answers departments from it and records returns in it, and the service never
writes the warehouse (DuckDB allows one writing process). The CLI and the service change it under a file lock,
so two writers never lose each other's change.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .councils import DEFAULT_COUNCIL, council_in_file_name
from .errors import ActionplanError
from .files import write_atomic

REGISTER_FILE = "register.json"
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


class UnknownDepartment(ActionplanError):
    """No department by that name is in the register."""


class DepartmentExists(ActionplanError):
    """A department by that name is already in the register."""


class BadContact(ActionplanError):
    """A contact is not an email address."""


class RegisterDamaged(ActionplanError):
    """The register file cannot be read."""


def fold_name(text: Any) -> str:
    """A department's name as names are compared: Unicode NFKC (the 'ﬁ' ligature is 'fi'), case folded, runs of
    spaces as one ('FINANCE', 'ﬁnance' and ' Finance ' all fold to 'finance')."""
    return " ".join(unicodedata.normalize("NFKC", str(text or "")).casefold().split())


def clean_name(text: Any) -> str:
    """A department's name as the register stores it: NFKC (no ligatures), spaces collapsed, case as typed."""
    return " ".join(unicodedata.normalize("NFKC", str(text or "")).split())


@dataclass
class Department:
    """One registered department: its name, who to write to, and since when."""

    name: str
    contacts: list[str] = field(default_factory=list)
    added: str = ""
    retired: str | None = None
    former_names: list[str] = field(default_factory=list)  # renamed from: their plans are this department's


@dataclass(frozen=True)
class Return:
    """A submission sent back to its department with a comment; it stops being the department's current plan."""

    submission_id: str
    department: str
    period: str
    comment: str
    by: str
    at: str


def day_from_text(text: str, what: str = "--date") -> dt.date:
    """A dd/mm/yyyy date typed by the officer (day first, as in the UK); a message with an example otherwise."""
    match = re.fullmatch(r"\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*", text or "")
    if not match:
        raise ActionplanError(f"{what} '{text}' is not a date in the form dd/mm/yyyy, e.g. 14/10/2024.")
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise ActionplanError(
            f"{what} '{text}' is not a real date ({exc}). Use dd/mm/yyyy, e.g. 14/10/2024."
        ) from None


class Register:
    """One council's register file: departments, deadlines, returns and reminders, re-read when it changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._data: dict[str, Any] = _empty()

    @classmethod
    def for_home(cls, home: Path, council: str = DEFAULT_COUNCIL) -> Register:
        """The register of one council in a home folder."""
        whose = council_in_file_name(council)
        return cls(home / (f"register-{whose}.json" if whose else REGISTER_FILE))

    @classmethod
    def for_settings(cls, settings: Any) -> Register:
        return cls.for_home(settings.home_path, settings.council)

    # -- reading ------------------------------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._data = None, _empty()
            return self._data
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                data = {**_empty(), **data}
                [Department(**d) for d in data["departments"]]
            except (ValueError, TypeError, KeyError) as exc:
                raise RegisterDamaged(f"{self.path} is damaged ({exc}); restore it from backup.") from None
            self._stamp, self._data = stamp, data
        return self._data

    def departments(self, *, retired: bool = False) -> list[Department]:
        """The registered departments A–Z (retired ones only when asked)."""
        found = [Department(**d) for d in self._load()["departments"]]
        return sorted((d for d in found if retired or not d.retired), key=lambda d: fold_name(d.name))

    def is_empty(self) -> bool:
        """True when the council has no register: who is expected is then whoever has ever submitted."""
        return not self._load()["departments"]

    def names(self) -> list[str]:
        """The departments expected to report: the active registered ones, A–Z."""
        return [d.name for d in self.departments()]

    def department(self, name: str) -> Department | None:
        """The registered department a name means, in any spelling, by its current or a former name."""
        wanted = fold_name(name)
        if not wanted:
            return None
        every = self.departments(retired=True)
        for d in every:
            if fold_name(d.name) == wanted:
                return d
        for d in every:
            if wanted in {fold_name(n) for n in d.former_names}:
                return d
        return None

    def spelling(self, name: str | None) -> str | None:
        """The register's spelling of a department name (the name itself, tidied, when it is not registered)."""
        if name is None:
            return None
        found = self.department(name)
        return found.name if found else clean_name(name)

    def deadlines(self) -> dict[str, dt.date]:
        """Period → deadline, in period order."""
        from .vocabulary import period_from_text

        raw = self._load()["deadlines"]
        keyed = sorted(raw.items(), key=lambda kv: period_from_text(kv[0]) or kv[0])
        return {p: dt.date.fromisoformat(d) for p, d in keyed}

    def deadline(self, period: str) -> dt.date | None:
        """The period's deadline, or None when none is set."""
        return self.deadlines().get(period)

    def returns(self) -> dict[str, Return]:
        """Submission id → its return."""
        return {r["submission_id"]: Return(**r) for r in self._load()["returns"]}

    def reminded(self) -> list[dict[str, Any]]:
        """Every reminder sent: department, period, day (ISO), to."""
        return list(self._load()["reminders"])

    # -- changing -----------------------------------------------------------------------------------------------
    @contextmanager
    def _changing(self) -> Iterator[dict[str, Any]]:
        """Read, change and write the file under an exclusive lock (the CLI and service workers may both write)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._stamp = None
            data = json.loads(json.dumps(self._load()))  # a copy: a failed change leaves the cache as it was
            yield data
            write_atomic(self.path, json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8"))
            self._stamp = None

    def add(
        self, name: str, contacts: list[str] | None = None, now: dt.datetime | None = None
    ) -> tuple[Department, bool]:
        """Register a department, or add contacts to a registered one; returns it and whether it is new."""
        name = clean_name(name)
        if not name:
            raise ActionplanError('A department needs a name, e.g. actionplan departments add "Finance".')
        emails = [_email(c) for c in contacts or []]
        with self._changing() as data:
            for d in data["departments"]:
                if fold_name(d["name"]) == fold_name(name):
                    d["contacts"] = list(dict.fromkeys([*d["contacts"], *emails]))
                    d["retired"] = None
                    return Department(**d), False
            entry = Department(name, list(dict.fromkeys(emails)), _stamp(now))
            data["departments"].append(asdict(entry))
            return entry, True

    def rename(self, old: str, new: str) -> Department:
        """Rename a department; plans filed under the old name count as the new one's."""
        new = clean_name(new)
        with self._changing() as data:
            entry = _find(data, old)
            clash = next(
                (d for d in data["departments"] if fold_name(d["name"]) == fold_name(new) and d is not entry),
                None,
            )
            if clash:
                raise DepartmentExists(f"'{clash['name']}' is already in the register; choose another name.")
            if fold_name(entry["name"]) != fold_name(new):
                entry["former_names"] = list(dict.fromkeys([*entry["former_names"], entry["name"]]))
            entry["name"] = new
            return Department(**entry)

    def retire(self, name: str, now: dt.datetime | None = None) -> Department:
        """Retire a department: no longer expected to report (its past plans stay)."""
        with self._changing() as data:
            entry = _find(data, name)
            entry["retired"] = entry["retired"] or _stamp(now)
            return Department(**entry)

    def fill(self, names: list[str], now: dt.datetime | None = None) -> list[str]:
        """Register every name not yet registered (in any spelling); returns the names added."""
        added = []
        with self._changing() as data:
            known = {fold_name(d["name"]) for d in data["departments"]}
            known |= {fold_name(n) for d in data["departments"] for n in d["former_names"]}
            for name in sorted({clean_name(n) for n in names if clean_name(n)}, key=fold_name):
                if fold_name(name) not in known:
                    known.add(fold_name(name))
                    data["departments"].append(asdict(Department(name, [], _stamp(now))))
                    added.append(name)
        return added

    def set_deadline(self, period: str, day: dt.date) -> None:
        """Set (or move) a period's deadline."""
        with self._changing() as data:
            data["deadlines"][period] = day.isoformat()

    def add_return(self, ret: Return) -> Return:
        """Record a return (a second return of the same submission replaces the first's comment)."""
        with self._changing() as data:
            data["returns"] = [r for r in data["returns"] if r["submission_id"] != ret.submission_id]
            data["returns"].append(asdict(ret))
        return ret

    def note_reminder(self, department: str, period: str, day: dt.date, to: list[str]) -> bool:
        """Record a reminder sent today; False (and nothing recorded) when the department already had one today."""
        with self._changing() as data:
            if any(
                fold_name(r["department"]) == fold_name(department) and r["day"] == day.isoformat()
                for r in data["reminders"]
            ):
                return False
            data["reminders"].append(
                {"department": department, "period": period, "day": day.isoformat(), "to": list(to)}
            )
            return True

    def forget_reminder(self, department: str, day: dt.date) -> None:
        """Take back a reminder recorded for a day (it could not be sent)."""
        with self._changing() as data:
            data["reminders"] = [
                r
                for r in data["reminders"]
                if not (fold_name(r["department"]) == fold_name(department) and r["day"] == day.isoformat())
            ]

    def expected_name(self, name: str) -> str:
        """The name a key may be issued for: any name without a register, else a registered, active department's
        spelling (UnknownDepartment naming the register otherwise)."""
        if self.is_empty():
            return clean_name(name)
        found = self.department(name)
        if found is None or found.retired:
            names = ", ".join(self.names()) or "none"
            why = "was retired" if found is not None else "is not in the register"
            raise UnknownDepartment(
                f"'{name}' {why}, so no key can be issued for it (registered: {names}). "
                f'Add it first: actionplan departments add "{clean_name(name)}".'
            )
        return found.name


def _empty() -> dict[str, Any]:
    return {"departments": [], "deadlines": {}, "returns": [], "reminders": []}


def _stamp(now: dt.datetime | None) -> str:
    return (now or dt.datetime.now(dt.UTC)).replace(microsecond=0).isoformat()


def _email(text: str) -> str:
    value = str(text).strip()
    if not _EMAIL.match(value):
        raise BadContact(
            f"'{text}' is not an email address. Give one address per --contact, e.g. "
            "--contact anita.patel@council.gov.uk."
        )
    return value


def _find(data: dict[str, Any], name: str) -> dict[str, Any]:
    wanted = fold_name(name)
    for d in data["departments"]:
        if fold_name(d["name"]) == wanted or wanted in {fold_name(n) for n in d["former_names"]}:
            return d
    names = ", ".join(sorted((d["name"] for d in data["departments"]), key=fold_name)) or "none yet"
    raise UnknownDepartment(
        f"No department called '{name}' is in the register (registered: {names}). "
        "See `actionplan departments list`."
    )
