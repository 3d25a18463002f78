"""CLI commands of the quarter: `departments`, `deadline`, `remind`, `submissions` and `return` (thin shells)."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from pathlib import Path


def _settings():
    from .settings import load_settings

    return load_settings()


def _register(settings=None):
    from .register import Register

    return Register.for_settings(settings or _settings())


def _inbox(settings):
    from actionplan.warehouse.inbox import Inbox

    return Inbox(settings.inbox_path, settings.archive_path)


def _period(text: str) -> str:
    from .vocabulary import period_label

    return period_label(text) or text  # None only for no text, which argparse never gives


# -- departments ----------------------------------------------------------------------------------------------


def cmd_departments_add(args) -> int:
    dept, new = _register().add(args.name, args.contact)
    contacts = ", ".join(dept.contacts) or "no contact yet (add one with --contact EMAIL)"
    print(f"{'Registered' if new else 'Already registered'}: {dept.name} — {contacts}.")
    return 0


def cmd_departments_list(args) -> int:
    register = _register()
    departments = register.departments(retired=args.all)
    if not departments:
        print(
            "No departments registered: everyone who has submitted is expected. Register them with "
            "`actionplan departments add NAME --contact EMAIL`, or `actionplan departments import`."
        )
        return 0
    width = max(len(d.name) for d in departments) + 2
    for d in departments:
        state = f"  (retired {d.retired[:10]})" if d.retired else ""
        former = f"  (formerly {', '.join(d.former_names)})" if d.former_names else ""
        print(f"{d.name:<{width}}{', '.join(d.contacts) or 'no contact'}{former}{state}")
    return 0


def cmd_departments_rename(args) -> int:
    dept = _register().rename(args.old, args.new)
    print(f"Renamed {args.old} to {dept.name}; plans sent under the old name now count for it.")
    return 0


def cmd_departments_retire(args) -> int:
    dept = _register().retire(args.name)
    print(f"Retired {dept.name}: no longer expected to report (its past plans stay on record).")
    return 0


def cmd_departments_import(args) -> int:
    from actionplan.errors import ActionplanError
    from actionplan.warehouse import open_warehouse

    s = _settings()
    url = s.warehouse_url
    if "://" not in url and not Path(url).exists():
        raise ActionplanError(
            f"No warehouse yet at {url}: nothing to import. Register departments with "
            "`actionplan departments add NAME`."
        )
    wh = open_warehouse(url, read_only=True, wait_seconds=5)
    try:
        names = wh.departments(s.council)
    finally:
        wh.close()
    added = _register(s).fill(names)
    print(
        f"Imported {len(added)} department{'s' if len(added) != 1 else ''} from the warehouse"
        + (f": {', '.join(added)}." if added else " (all were registered already).")
    )
    if added:
        print("Add each one's contacts with `actionplan departments add NAME --contact EMAIL`.")
    return 0


# -- deadlines ------------------------------------------------------------------------------------------------


def cmd_deadline_set(args) -> int:
    from .register import day_from_text

    period, day = _period(args.period), day_from_text(args.date)
    _register().set_deadline(period, day)
    print(f"Deadline for {period}: {day:%A} {day:%d/%m/%Y}.")
    return 0


def cmd_deadline_list(args) -> int:
    deadlines = _register().deadlines()
    if not deadlines:
        print(
            'No deadlines set. Set one with `actionplan deadline set --period "2024/25 Q2" --date 14/10/2024`.'
        )
    for period, day in deadlines.items():
        print(f"{period:<12} {day:%a %d/%m/%Y}")
    return 0


# -- reminders ------------------------------------------------------------------------------------------------


def cmd_remind(args) -> int:
    from .remind import remind_period

    s = _settings()
    result = remind_period(s, _period(args.period), dry_run=args.dry_run)
    print_reminders(result, dry_run=args.dry_run)
    return 1 if result.failed else 0


def print_reminders(result, *, dry_run: bool, out=None) -> None:
    """Who gets (or, dry, would get) which reminder, and who cannot be reminded."""
    out = out or sys.stdout
    due = f"deadline {result.deadline:%d/%m/%Y}" if result.deadline else "no deadline set"
    verb = "Would email" if dry_run else "Emailed"
    print(f"Reminders for {result.period} ({due}):", file=out)
    if not result.reminders and not result.no_contact and not result.already_today and not result.failed:
        print("  Nobody to remind: every expected department has a current plan.", file=out)
    for r in result.reminders:
        print(f"  {verb} {r.department} ({r.standing}) → {', '.join(r.to)}: {r.subject}", file=out)
        if dry_run:
            print("\n".join("      " + line for line in r.body.splitlines()), file=out)
    for name in result.already_today:
        print(f"  Not again today: {name} was reminded earlier today.", file=out)
    for name in result.no_contact:
        print(
            f'  No contact for {name}: add one with `actionplan departments add "{name}" --contact EMAIL`.',
            file=out,
        )
    for name, why in result.failed.items():
        print(f"  Not sent to {name}: {why}", file=out)


# -- submissions and returns ----------------------------------------------------------------------------------


def _entry(settings, wanted: str):
    from actionplan.warehouse.history import submission_on_file

    return submission_on_file(_inbox(settings), _register(settings), settings.council, wanted)


def cmd_submissions_list(args) -> int:
    from actionplan.warehouse.history import SHORT_ID, submissions_on_file

    s = _settings()
    entries = submissions_on_file(
        _inbox(s),
        _register(s),
        s.council,
        period=_period(args.period) if args.period else None,
        department=args.department,
    )
    if not entries:
        print(
            "No submissions on file"
            + (" for that period and department." if args.period or args.department else ".")
        )
        return 0
    print(f"{'id':<13} {'submitted (UTC)':<20} {'period':<11} {'department':<28} {'channel':<8} outcome")
    for e in entries:
        outcome = e.outcome + (f", {_count(len(e.warnings), 'warning')}" if e.warnings else "")
        outcome += f", {_count(len(e.errors), 'error')}" if e.errors else ""
        outcome += " — RETURNED: " + e.returned.comment if e.returned else ""
        print(
            f"{e.id[:SHORT_ID]:<13} {e.submitted_at:%d/%m/%Y %H:%M}     {e.period:<11} {e.department[:28]:<28} "
            f"{e.channel or '-':<8} {outcome}"
        )
    return 0


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def cmd_submissions_show(args) -> int:
    s = _settings()
    e = _entry(s, args.id)
    print(f"Submission {e.id}")
    for label, value in (
        ("Department", e.department),
        ("Period", e.period),
        ("Submitted", f"{e.submitted_at:%d/%m/%Y %H:%M} UTC by {e.submitted_by or 'unknown'}"),
        ("Channel", e.channel or "unknown"),
        ("File", e.file or "-"),
        ("Outcome", f"{e.outcome} ({e.state})"),
    ):
        print(f"  {label + ':':<12}{value}")
    if e.returned:
        print(
            f"  {'Returned:':<12}{e.returned.at[:16].replace('T', ' ')} by {e.returned.by}: {e.returned.comment}"
        )
    for title, items in (("Errors", e.errors), ("Warnings", e.warnings)):
        if items:
            print(f"  {title}:")
            for m in items:
                where = (
                    f"{m.get('sheet')}!{m.get('cell')}"
                    if m.get("sheet") and m.get("cell")
                    else (m.get("sheet") or "workbook")
                )
                value = f" '{m['value']}'" if m.get("value") not in (None, "") else ""
                print(f"    {where}{value}: {m.get('message')}")
    return 0


def cmd_submissions_get(args) -> int:
    from actionplan.warehouse.history import workbook_of

    from .errors import ActionplanError
    from .files import write_atomic

    s = _settings()
    e = _entry(s, args.id)
    data, name = workbook_of(_inbox(s), e)
    out = Path(args.output)
    try:
        write_atomic(out, data)
    except OSError as exc:
        raise ActionplanError(
            f"Cannot write {out}: {exc.strerror or exc}. Choose another file with -o."
        ) from None
    print(
        f"Written {out} ({len(data):,} bytes): {e.department}, {e.period}, "
        + (
            "rebuilt from the add-in's sheets"
            if e.raw and e.raw.endswith(".json")
            else f"as received ({name})"
        )
        + "."
    )
    return 0


def cmd_return(args) -> int:
    from actionplan.warehouse.history import return_submission

    s = _settings()
    entry, ret = return_submission(
        _inbox(s),
        _register(s),
        s.council,
        args.id,
        args.comment,
        by=args.by or getpass.getuser(),
        now=dt.datetime.now(dt.UTC),
    )
    print(
        f'Returned {entry.department}\'s plan for {entry.period} (submission {entry.id[:12]}): "{ret.comment}". '
        f"{entry.department} shows as returned until it submits again."
    )
    return 0


def add_commands(sub) -> None:
    """Register the quarter's subcommands on the `actionplan` parser."""
    d = sub.add_parser(
        "departments",
        help="The register of departments expected to report, and their contacts.",
        description="The council's register of departments: who must report each period, and who "
        "to email. Without a register, everyone who has ever submitted is expected.",
    )
    dsub = d.add_subparsers(dest="departments_command", metavar="ACTION", required=True)
    c = dsub.add_parser("add", help="Register a department (or add contacts to a registered one).")
    c.add_argument("name", metavar="NAME")
    c.add_argument(
        "--contact",
        action="append",
        default=[],
        metavar="EMAIL",
        help="who receives reminders (repeat for several)",
    )
    c.set_defaults(func=cmd_departments_add)
    c = dsub.add_parser("list", help="List the registered departments and their contacts.")
    c.add_argument("--all", action="store_true", help="include retired departments")
    c.set_defaults(func=cmd_departments_list)
    c = dsub.add_parser(
        "rename", help="Rename a department; plans under the old name count as the new one's."
    )
    c.add_argument("old", metavar="OLD")
    c.add_argument("new", metavar="NEW")
    c.set_defaults(func=cmd_departments_rename)
    c = dsub.add_parser("retire", help="Stop expecting a department to report (its past plans stay).")
    c.add_argument("name", metavar="NAME")
    c.set_defaults(func=cmd_departments_retire)
    c = dsub.add_parser("import", help="Register every department that has submitted (from the warehouse).")
    c.set_defaults(func=cmd_departments_import)

    d = sub.add_parser("deadline", help="Each period's deadline: plans after it are late.")
    dsub = d.add_subparsers(dest="deadline_command", metavar="ACTION", required=True)
    c = dsub.add_parser("set", help="Set or move a period's deadline.")
    c.add_argument("--period", required=True, help="e.g. 2024/25 Q2")
    c.add_argument("--date", required=True, help="the last day plans are on time, dd/mm/yyyy")
    c.set_defaults(func=cmd_deadline_set)
    c = dsub.add_parser("list", help="List the deadlines.")
    c.set_defaults(func=cmd_deadline_list)

    c = sub.add_parser(
        "remind",
        help="Email each department still owing the period's plan (missing, rejected or "
        "returned); at most one email a department a day.",
    )
    c.add_argument("--period", required=True, help="e.g. 2024/25 Q2")
    c.add_argument("--dry-run", action="store_true", help="print who would get what, send nothing")
    c.set_defaults(func=cmd_remind)

    d = sub.add_parser("submissions", help="Every submission on file: list, show one, get its workbook back.")
    dsub = d.add_subparsers(dest="submissions_command", metavar="ACTION", required=True)
    c = dsub.add_parser("list", help="List submissions, newest first.")
    c.add_argument("--period")
    c.add_argument("--department")
    c.set_defaults(func=cmd_submissions_list)
    c = dsub.add_parser(
        "show", help="Who, when, channel, outcome, warnings and any return of one submission."
    )
    c.add_argument(
        "id", metavar="ID", help="a submission id, or its first characters (see `submissions list`)"
    )
    c.set_defaults(func=cmd_submissions_show)
    c = dsub.add_parser("get", help="Write the workbook as received (an add-in submission rebuilt as .xlsx).")
    c.add_argument("id", metavar="ID")
    c.add_argument("-o", "--output", required=True, metavar="FILE")
    c.set_defaults(func=cmd_submissions_get)

    c = sub.add_parser(
        "return",
        help="Return a submission to its department with a comment; it stops counting "
        "until the department submits again.",
    )
    c.add_argument("id", metavar="ID")
    c.add_argument(
        "--comment", required=True, help="what the department should change, e.g. 'please add the KPIs'"
    )
    c.add_argument("--by", help="who returns it (default: your user name)")
    c.set_defaults(func=cmd_return)
