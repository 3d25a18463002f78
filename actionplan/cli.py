"""The `actionplan` command: thin shells over the core, the warehouse and the flows (imported only when needed)."""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import getpass
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .councils import ALL_COUNCILS, DEFAULT_COUNCIL
from .errors import ActionplanError
from .files import read_file
from .runs import print_summary, run_flow

EXIT_REJECTED = 1
EXIT_USAGE = 2
COUNCIL_HELP = (
    "the council to roll up (default: ACTIONPLAN_COUNCIL, this install's council), or `all` for every "
    "council in one rollup"
)


def _settings():
    from .settings import load_settings

    return load_settings()


GROUP_FROM = 4  # a warning repeated this often is printed once, with its count and first cells
_NOUNS = {"actions": "actions", "kpis": "KPIs", "objectives": "objectives"}


def _print_report(report: dict[str, Any], out=None, limit: int | None = None, every: bool = False) -> None:
    """The plain-English report of one file: outcome, counts, then every error and warning with its cell (a warning
    repeated GROUP_FROM times or more once, with its count and first cells, unless every)."""
    out = out or sys.stdout  # looked up now: a test (or a progress display) may have replaced it
    who = (
        ", ".join(x for x in (report["department"], report["period"]) if x) or "department and period unknown"
    )
    layout = f" (layout: {report['layout']})" if report["layout"] else ""
    print(f"{report['file']} — {who}{layout}", file=out)
    c = report["counts"]
    counts = f"{c['objectives']} objectives, {c['actions']} actions, {c['kpis']} KPIs"
    n_err, n_warn = len(report["errors"]), len(report["warnings"])
    if report["accepted"]:
        head = f"Accepted with {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else "Accepted"
        print(f"  {head}: {counts}.", file=out)
    else:
        print(f"  Rejected: {n_err} error{'s' if n_err != 1 else ''}, nothing was stored.", file=out)
    for title, items in (("Errors", report["errors"]), ("Warnings", report["warnings"])):
        if not items:
            continue
        print(f"  {title}:", file=out)
        shown = items if limit is None else items[:limit]
        lines = _grouped(shown) if title == "Warnings" and not every else [_line(m) for m in shown]
        for line in lines:
            print(line, file=out)
        if len(shown) < len(items):
            print(
                f"    … and {len(items) - len(shown)} more (use `actionplan validate` to see all)", file=out
            )


def _line(m: dict[str, Any]) -> str:
    from .model import Message  # the one formatter of a message line (model imports pandas: not at start-up)

    return f"    {Message.from_dict(m)}"


def _grouped(items: list[dict[str, Any]]) -> list[str]:
    """The warnings' lines, those with the same code, sheet and message together where there are many, at the
    place of the first: "200 KPIs: no lead officer. …" then "KPIs!E2, E3, E4 … (`--all` lists every one)"."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for m in items:
        groups.setdefault((m["code"], m["sheet"], m["message"]), []).append(m)
    lines, done = [], set()
    for m in items:
        key = (m["code"], m["sheet"], m["message"])
        same = groups[key]
        if len(same) < GROUP_FROM or not m["sheet"]:
            lines.append(_line(m))
            continue
        if key in done:
            continue
        done.add(key)
        noun = _NOUNS.get(m["sheet"].casefold(), f"rows on {m['sheet']}")
        cells = [x["cell"] for x in same if x["cell"]]
        first = ", ".join(cells[:3])
        lines.append(f"    {len(same)} {noun}: {m['message']}")
        lines.append(f"      {m['sheet']}!{first} … (`--all` lists every one)")
    return lines


class FilesNotOpened(ActionplanError):
    """Some files named on the command line could not be opened (the rest were checked)."""


def _check_files(args, encoded: bool = False) -> Iterator[tuple[str, bytes, Any, dict[str, str] | None]]:
    """Every file checked, across one process per core, each yielded in the order given as soon as it and
    those before it are done (progress: files checked). A file that cannot be opened is named on stderr and,
    once the others are done, FilesNotOpened ends the command (exit 2)."""
    from . import progress
    from .batch import checked_files

    progress.begin("files checked", len(args.files))
    unopened = []
    for done in checked_files(
        args.files,
        settings=_settings(),
        workers=args.workers,
        encoded=encoded,
        department=args.department,
        period=args.period,
        layout=getattr(args, "layout", None),
    ):
        progress.advance("files checked", Path(done.path).name)
        if done.data is None:  # named on stderr, and the others still checked and reported
            unopened.append(done.submission.errors[0].message)
            print(f"actionplan: {unopened[-1]}", file=sys.stderr)
            continue
        yield done.path, done.data, done.submission, done.tables_json
    if unopened:
        raise FilesNotOpened(f"{len(unopened)} of {len(args.files)} files could not be opened (named above).")


def cmd_validate(args) -> int:
    results, unopened = [], None
    try:
        results.extend(_check_files(args))
    except FilesNotOpened as exc:  # the others are still reported, then the exit says some were not
        unopened = exc
    reports = [sub.report() for _, _, sub, _ in results]
    for (path, _, _, _), report in zip(results, reports, strict=True):
        report["file"] = path
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, ensure_ascii=False))
    else:
        for report in reports:
            _print_report(report, every=args.all)
    if unopened:
        raise unopened
    return 0 if all(r["accepted"] for r in reports) else EXIT_REJECTED


def cmd_submit(args) -> int:
    from actionplan.warehouse.inbox import Inbox

    from . import progress

    s = _settings()
    inbox = Inbox(s.inbox_path, s.archive_path)
    ok = True
    whose = "" if s.council == DEFAULT_COUNCIL else f" for {s.council}"
    with progress.shown():
        for path, data, sub, tables_json in _check_files(args, encoded=True):
            report = inbox.submit(
                sub,
                data,
                submitted_by=args.by or getpass.getuser(),
                council=s.council,
                tables_json=tables_json,
            )
            report["file"] = path
            _print_report(report, every=args.all)
            if report["accepted"]:
                state = (
                    "new submission"
                    if report["new"]
                    else "identical to one already received: not stored twice"
                )
                print(f"  Submission id {report['submission_id'][:12]}{whose} ({state}).")
            ok &= report["accepted"]
    return 0 if ok else EXIT_REJECTED


def cmd_ingest(args) -> int:
    from . import progress

    with progress.shown():
        result = run_flow("ingest")
    print(
        f"{len(result['loaded'])} loaded, {len(result['already'])} already in the warehouse"
        + (f", {len(result['failed'])} failed" if result["failed"] else "")
        + "."
    )
    for sid, why in result["failed"].items():
        print(f"  {sid[:12]}: {why}")
    return 1 if result["failed"] else 0


def _period(text: str | None) -> str | None:
    from .vocabulary import period_label

    return period_label(text)


def _required_period(text: str | None) -> str:
    """The period a command cannot run without: a blank one is refused with an example, like a wrong one."""
    label = _period(text)
    if label is None:
        from .errors import UnknownPeriod

        raise UnknownPeriod(
            'No period given. Use e.g. --period "2024/25 Q2" (or 2024/25 for the whole year).'
        )
    return label


def _date(text: str | None) -> dt.date | None:
    from .values import date_from_value

    if text is None:
        return None
    parsed = date_from_value(text)
    if parsed.date is None:
        raise ActionplanError(f"--as-at '{text}' is not a date. Use dd/mm/yyyy.")
    return parsed.date


def _council(requested: str | None, settings, *, waiting: bool) -> str:
    """--council as the command will use it: the configured council when not given, `all`, or a council on record
    (or, waiting: with plans waiting in the inbox); a message listing the councils on record otherwise."""
    if requested is None:
        return settings.council
    from actionplan.warehouse.consolidate import councils_known
    from actionplan.warehouse.inbox import Inbox

    from .councils import council_on_record

    inbox = Inbox(settings.inbox_path, settings.archive_path) if waiting else None
    return council_on_record(requested, councils_known(settings.warehouse_url, inbox), settings.council)


def cmd_consolidate(args) -> int:
    period = _required_period(args.period)
    out = str(Path(args.out).resolve()) if args.out else None
    # Checked before the flow runs (a failed flow run prints a traceback); the flow loads the inbox first, so
    # a council whose first plans are waiting there is known too.
    council = _council(args.council, _settings(), waiting=True)
    from . import progress

    with progress.shown():
        result = run_flow(
            "consolidate",
            period=period,
            as_at=_date(args.as_at),
            out=out,
            against=_period(args.against),
            pdf=args.pdf,
            council=council,
        )
    print_summary(result["facts"], council=result["council"])
    print(f"Rollup written: {result['path']}")
    _print_validation(result.get("validation") or {})
    if args.pdf:
        print(
            f"PDF written: {result['pdf']}" if result["pdf"] else f"PDF not written: {result['pdf_problem']}"
        )
    return 0


def _print_validation(validation: dict[str, Any]) -> None:
    """What the flow's Great Expectations task found: its verdict, or why it failed, and where the Data Docs are."""
    if validation.get("failed"):
        print(f"Validation task failed: {validation['failed']}")
    elif validation.get("summary"):
        print(validation["summary"])
    if validation.get("docs_index"):
        print(f"Data Docs: {validation['docs_index']}")


def _warehouse_to_read(s):
    """The warehouse opened read-only, or a plain message when nothing has been loaded yet."""
    from actionplan.warehouse import open_warehouse

    url = s.warehouse_url
    if "://" not in url and not Path(url).exists():
        raise ActionplanError(
            f"No warehouse yet at {url}: submit workbooks and run `actionplan ingest` first."
        )
    return open_warehouse(url, read_only=True, wait_seconds=5)


def cmd_export(args) -> int:
    from actionplan.excel_addin.tokens import key_holders
    from actionplan.warehouse.consolidate import facts_from_warehouse

    from .councils import council_on_record

    s = _settings()
    period = _required_period(args.period)
    wh = _warehouse_to_read(s)
    try:
        council = council_on_record(args.council, wh.councils(), s.council)
        facts = facts_from_warehouse(
            wh,
            period,
            council=council,
            against=_period(args.against),
            tolerance=s.tolerance,
            timezone=s.timezone,
            register=_register(s, council),
            key_holders=key_holders(s.home_path, council),
        )
    finally:
        wh.close()
    data = facts.export()
    data.pop("generated_at", None)
    print(json.dumps(data, indent=2, ensure_ascii=False))
    return 0


def _register(settings, council: str | None = None):
    """The council's register (None for the combined rollup of every council: each has its own)."""
    from .register import Register

    council = council or settings.council
    return None if council == ALL_COUNCILS else Register.for_home(settings.home_path, council)


def cmd_template(args) -> int:
    from .template import write_template

    out = Path(args.output)
    write_template(out, department=args.department, period=_period(args.period))
    print(f"Template written: {out}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(Path(args.workbooks) if args.workbooks else None, seed=args.seed)


def cmd_bench(args) -> int:
    import runpy

    from .settings import SOURCE_ROOT

    script = SOURCE_ROOT / "bench" / "run.py"
    if not script.exists():
        raise ActionplanError(
            "The benchmarks live in the source checkout (bench/run.py); run this from a clone."
        )
    sys.argv = [str(script), *(["--quick"] if args.quick else [])]
    runpy.run_path(str(script), run_name="__main__")
    return 0


def cmd_layouts(args) -> int:
    from .check import available_layouts

    layouts = available_layouts(_settings())
    if not args.file:
        width = max(len(n) for n in layouts) + 2
        for name, layout in sorted(layouts.items()):
            print(f"{name:<{width}}{layout.description}\n{'':<{width}}{layout.path}")
        return 0
    from .layout_choice import layout_report
    from .read import book_from_xlsx

    report = layout_report(
        book_from_xlsx(read_file(args.file), Path(args.file).name), layouts, forced=args.layout
    )
    print(
        f"{args.file}: read with layout '{report['layout']}'"
        + (
            f" (matches {', '.join(report['ambiguous_with'])} equally well)"
            if report["ambiguous_with"]
            else ""
        )
    )
    print("  Scores: " + ", ".join(f"{n} {s[0]}" for n, s in report["scores"].items()))
    print("  (a heading matched as written scores 100; any other score is shown with how it matched)")
    for t in report["tables"]:
        rows = f"s {t['header_row']}-{t['header_row'] + t['header_rows'] - 1}" if t["header_rows"] > 1 else ""
        print(
            f"  {t['sheet']}: {t['kind']} table, header in row{rows or ' ' + str(t['header_row'])}, "
            f"{t['items']} rows"
        )
        _print_headings(t["headings"])
        explained = {h["column"] for h in t["headings"]}
        for letter, name in t["extra"]:
            if letter not in explained:
                print(f"    {letter}  {name:<40}   kept as an extra column")
    for t in report["unread"]:
        print(f"  {t['sheet']}: no table read; its likeliest header (row {t['header_row']}, {t['kind']}):")
        _print_headings(t["headings"])
    for message in report["messages"]:
        print(f"  {message}")
    return 0


def _print_headings(headings: list[dict]) -> None:
    for h in headings:
        heading = " ".join(h["heading"].split())
        score = f"  (score {h['score']}: {h['how']})" if h["score"] is not None and h["score"] != 100 else ""
        if h["read_as"][:1].isupper():
            print(f"    {h['column']}  {heading:<40} → {h['read_as']}{score}")
        else:
            print(f"    {h['column']}  {heading:<40}   {h['read_as']}{score}")


def cmd_convert(args) -> int:
    from .convert import convert_workbook

    out = Path(args.output)
    sub = convert_workbook(
        read_file(args.file),
        Path(args.file).name,
        out,
        layout=args.layout,
        department=args.department,
        period=args.period,
        settings=_settings(),
    )
    report = sub.report()
    report["file"] = args.file
    _print_report(report)
    print(
        f"Template written: {out}"
        + ("" if sub.accepted else " (correct the errors above in it before submitting)")
    )
    return 0 if sub.accepted else EXIT_REJECTED


def cmd_deploy(args) -> int:
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        raise ActionplanError(
            "No Prefect server to deploy to: set PREFECT_API_URL, e.g. "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api (see README, Running at scale)."
        )
    from actionplan.flows.deployments import all_deployments, register

    s = _settings()
    if args.serve:
        from prefect import serve

        print(
            f"Serving ingest, consolidate and remind from this process against {PREFECT_API_URL.value()} "
            "(Ctrl+C stops)."
        )
        serve(*all_deployments(s), print_starting_message=False)
        return 0
    for name, deployment_id in register(args.pool, s).items():
        print(f"Deployed {name} ({deployment_id}) to work pool '{args.pool}'.")
    print(f"Start workers with: prefect worker start --pool {args.pool} --type process")
    return 0


def cmd_docs(args) -> int:
    from .checkpoint import data_docs_index

    s = _settings()
    council = s.council if args.council is None else args.council
    print(data_docs_index(s, args.period, council))
    return 0


# -- report: the committee report (Word, and PDF through LibreOffice) ---------------------------------------------


def cmd_report(args) -> int:
    from actionplan.warehouse.consolidate import report_from_warehouse

    from .councils import council_on_record
    from .report import report_file

    s = _settings()
    period = _required_period(args.period)
    wh = _warehouse_to_read(s)
    try:
        council = council_on_record(args.council, wh.councils(), s.council)
        out = Path(args.out) if args.out else report_file(s.rollup_file(period, council), args.department)
        path = report_from_warehouse(
            wh,
            period,
            out,
            council=council,
            department=args.department,
            template=Path(s.report_template) if s.report_template else None,
            tolerance=s.tolerance,
            as_at=_date(args.as_at),
        )
    finally:
        wh.close()
    print(f"Report written: {path}")
    if args.pdf:
        from .pdf import PdfUnavailable, pdf_from_report

        try:
            print(f"PDF written: {pdf_from_report(path)}")
        except PdfUnavailable as exc:
            print(exc)
    return 0


def _add_report_command(sub) -> None:
    c = sub.add_parser(
        "report",
        help="Write the committee report (Word) for a period from the warehouse: summary, "
        "exceptions, each department's objectives, milestones and KPIs.",
    )
    c.add_argument("--period", required=True, help="e.g. 2024/25 Q2, or 2024/25 for the year")
    c.add_argument("--council", help=COUNCIL_HELP)
    c.add_argument("--department", help="one department's own report (for its management team)")
    c.add_argument("--as-at", help="date the data is taken as at (dd/mm/yyyy)")
    c.add_argument(
        "--out", help="where to write the .docx (default: beside the rollup, report-<period>.docx)"
    )
    c.add_argument("--pdf", action="store_true", help="also print it to PDF (needs LibreOffice)")
    c.set_defaults(func=cmd_report)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="actionplan",
        description="Collect council action plans and KPIs from Excel workbooks, check them, load them into "
        "the warehouse and publish the council-wide rollup workbook.",
        epilog="Data lives in ACTIONPLAN_HOME (default ./actionplan-data). See README.md.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def files_command(name: str, help_text: str, func) -> argparse.ArgumentParser:
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("files", nargs="+", metavar="FILE", help="department workbook(s), .xlsx or .xlsm")
        c.add_argument("--department", help="department, when the workbook has no Plan sheet")
        c.add_argument(
            "--period", help="reporting period (e.g. 2024/25 Q2), when the workbook has no Plan sheet"
        )
        c.add_argument(
            "--layout", help="read with this layout instead of choosing one (see `actionplan layouts`)"
        )
        c.add_argument(
            "--all",
            action="store_true",
            help="list every warning (by default a warning repeated on many rows is shown once, with its "
            "count and first cells)",
        )
        c.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes checking files at once (default: one per core)",
        )
        c.set_defaults(func=func)
        return c

    c = files_command(
        "validate", "Check workbooks without storing anything (exit 1 if any is rejected).", cmd_validate
    )
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c = files_command(
        "submit", "Check workbooks and put each accepted one in the inbox for loading.", cmd_submit
    )
    c.add_argument("--by", help="who is submitting (default: your user name)")

    c = sub.add_parser("ingest", help="Load the inbox into the warehouse (Prefect flow).")
    c.set_defaults(func=cmd_ingest)

    c = sub.add_parser("consolidate", help="Ingest, then write the council rollup workbook for a period.")
    c.add_argument("--period", required=True, help="e.g. 2024/25 Q2")
    c.add_argument("--as-at", help="date the data is taken as at (dd/mm/yyyy)")
    c.add_argument("--out", help="where to write the workbook (default: <home>/rollups/)")
    c.add_argument("--against", help="compare with this period instead of the previous one")
    c.add_argument("--pdf", action="store_true", help="also print the rollup to PDF (needs LibreOffice)")
    c.add_argument("--council", help=COUNCIL_HELP)
    c.set_defaults(func=cmd_consolidate)

    c = sub.add_parser("export", help="Print the rollup's numbers for a period as JSON.")
    c.add_argument("--period", required=True)
    c.add_argument("--against", help="compare with this period instead of the previous one")
    c.add_argument("--council", help=COUNCIL_HELP)
    c.set_defaults(func=cmd_export)

    c = sub.add_parser(
        "docs",
        help="Print the path of a period's Great Expectations Data Docs site (built by `consolidate`).",
    )
    c.add_argument("--period", required=True, help="e.g. 2024/25 Q2")
    c.add_argument("--council", help="the council whose site (default: ACTIONPLAN_COUNCIL), or `all`")
    c.set_defaults(func=cmd_docs)

    c = sub.add_parser("template", help="Write a blank department workbook (the canonical template).")
    c.add_argument("-o", "--output", required=True, metavar="FILE")
    c.add_argument("--department")
    c.add_argument("--period")
    c.set_defaults(func=cmd_template)

    c = sub.add_parser(
        "demo", help="Generate a realistic council, submit every plan, consolidate, summarise."
    )
    c.add_argument("--workbooks", help="folder to write the generated workbooks to (default: <home>/demo)")
    c.add_argument("--seed", type=int, default=42)
    c.set_defaults(func=cmd_demo)

    c = sub.add_parser("bench", help="Measure the speed targets against their baselines (bench/run.py).")
    c.add_argument("--quick", action="store_true", help="small data, about a minute")
    c.set_defaults(func=cmd_bench)

    c = sub.add_parser(
        "layouts", help="List the layouts workbooks can be read with, or show how one workbook is read."
    )
    c.add_argument(
        "file", nargs="?", metavar="FILE", help="a workbook: show each layout's score and its columns"
    )
    c.add_argument("--layout", help="show how this layout reads FILE instead of the one chosen")
    c.set_defaults(func=cmd_layouts)

    c = sub.add_parser(
        "convert", help="Write the canonical template filled with the plan of a workbook in another layout."
    )
    c.add_argument("file", metavar="FILE", help="the department's own workbook, .xlsx or .xlsm")
    c.add_argument("-o", "--output", required=True, metavar="OUT", help="the template to write (.xlsx)")
    c.add_argument(
        "--layout", help="read FILE with this layout instead of choosing one (see `actionplan layouts`)"
    )
    c.add_argument("--department", help="department, when the workbook does not say")
    c.add_argument("--period", help="reporting period (e.g. 2024/25 Q2), when the workbook does not say")
    c.set_defaults(func=cmd_convert)

    c = sub.add_parser(
        "deploy",
        help="Register the ingest and consolidate flows with the Prefect server at "
        "PREFECT_API_URL, run by a work pool's workers.",
    )
    c.add_argument(
        "--pool", default="actionplan", help="work pool name (created as a process pool if missing)"
    )
    c.add_argument("--serve", action="store_true", help="run the flows' schedules in this process instead")
    c.set_defaults(func=cmd_deploy)

    _add_report_command(sub)

    # The quarter's commands: departments, deadline, remind, submissions, return (issue 16).
    from .quarter_commands import add_commands as add_quarter_commands

    add_quarter_commands(sub)

    # The service's commands (serve, token) live with the service; importing them loads no web framework.
    from actionplan.excel_addin.commands import add_commands

    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command in ("validate", "submit", "serve", "convert", "demo"):
            from .read import assert_safe_xml

            assert_safe_xml()
        return args.func(args)
    except ActionplanError as exc:
        print(f"actionplan: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # output piped into head and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("actionplan: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the edge: a user never sees a traceback, but gets what to report
        if os.environ.get("ACTIONPLAN_DEBUG"):
            raise
        print(
            f"actionplan: unexpected error: {type(exc).__name__}: {exc}\n"
            "Run again with ACTIONPLAN_DEBUG=1 for details, and report it to your system administrator.",
            file=sys.stderr,
        )
        return 3


def run() -> None:
    """The `actionplan` command: main(), then out at once. Once the command's work is done and reported, the
    interpreter's own teardown (every object of a 2-million-cell rollup freed one by one, each module unloaded)
    is a second of nothing the user needs; the exit handlers (the temporary Prefect server and the helper
    processes stopped) still run, and everything written is flushed first."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):  # output closed early (piped into head), or already closed
        pass
    atexit._run_exitfuncs()
    os._exit(code)


if __name__ == "__main__":
    run()
