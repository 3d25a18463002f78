"""The installed `actionplan` command, driven as a user or a script would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import GOOD_KPI, action, canonical_workbook, run_probe


def run(*args, env=None, check=True):
    p = subprocess.run(
        [sys.executable, "-m", "actionplan", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    assert "Traceback" not in p.stdout + p.stderr, p.stderr
    if check:
        assert p.returncode == 0, p.stderr or p.stdout
    return p


@pytest.fixture
def books(tmp_path):
    good = canonical_workbook(
        tmp_path / "finance.xlsx",
        actions=[
            action("F1", status="Complete"),
            action(
                "F2",
                text='=HYPERLINK("http://evil","click")',
                due="Sept. 2024",
                revised="31/12/2024",
                status="Off target but recovery plans in place",
                update="+ awaiting sign-off",
            ),
        ],
        kpis=[GOOD_KPI],
    )
    legal = canonical_workbook(
        tmp_path / "legal.xlsx",
        "Legal, HR & Property",
        actions=[action("L1", due="TBC", status="G", update="@risk: none")],
    )
    bad = canonical_workbook(tmp_path / "bad.xlsx", actions=[action(due="31/11/24", status="Greenish")])
    return good, legal, bad


def test_cli_validate_json_shape_and_exit_codes(books, home):
    good, legal, bad = books
    p = run("validate", bad, "--json", check=False)
    assert p.returncode == 1
    report = json.loads(p.stdout)
    assert set(report) == {
        "file",
        "accepted",
        "department",
        "period",
        "layout",
        "counts",
        "errors",
        "warnings",
        "columns",
    }
    assert report["columns"]["Actions"]["mapped"][0] == "A: actions.ref"
    assert [e["code"] for e in report["errors"]] == ["impossible-date", "unknown-status"]
    both = json.loads(run("validate", good, legal, "--json").stdout)
    assert [r["accepted"] for r in both] == [True, True]
    assert not home.exists() or not any(home.rglob("*.json"))  # validate stores nothing


def test_cli_readable_report(books, home):
    p = run("validate", books[2], check=False)
    assert p.stdout.splitlines()[:4] == [
        f"{books[2]} — Finance, 2024/25 Q2 (layout: canonical)",
        "  Rejected: 2 errors, nothing was stored.",
        "  Errors:",
        "    Actions!F2 '31/11/24': not a real date (November has 30 days). Use dd/mm/yyyy.",
    ]


def test_cli_bad_input_gets_a_message_not_a_traceback(tmp_path, home):
    csv = tmp_path / "plan.xlsx"
    csv.write_text("Ref,Action\nA1,Do it\n")
    p = run("validate", csv, tmp_path / "missing.xlsx", check=False)
    assert p.returncode == 2 and "no such file" in p.stderr
    p = run("validate", csv, check=False)
    assert p.returncode == 1 and "is a text or CSV file" in p.stdout
    p = run("consolidate", "--period", "Autumn", check=False)
    assert p.returncode == 2 and "'Autumn' is not a period" in p.stderr
    for command in ("consolidate", "export", "report"):  # a blank period is refused like a wrong one
        p = run(command, "--period", " ", check=False)
        assert p.returncode == 2 and "No period given" in p.stderr, (command, p.stderr)


def test_cli_whole_path_submit_consolidate_export(books, home, tmp_path):
    good, legal, bad = books
    p = run("submit", good, legal)
    assert p.stdout.count("(new submission)") == 2
    assert "identical to one already received" in run("submit", good).stdout
    assert run("submit", bad, check=False).returncode == 1
    out = tmp_path / "rollup.xlsx"
    # A PATH without LibreOffice: the rollup is still written, and the user is told why there is no PDF.
    p = run(
        "consolidate",
        "--period",
        "2024/25 Q2",
        "--out",
        out,
        "--pdf",
        env={"PATH": str(Path(sys.executable).parent)},
    )
    assert f"Rollup written: {out}" in p.stdout
    assert "PDF not written: LibreOffice is not installed" in p.stdout
    assert "Changes: none (no earlier period on record)" in p.stdout  # the first period on record
    exported = json.loads(run("export", "--period", "2024/25 Q2").stdout)
    assert [r["Department"] for r in exported["summary"]] == [
        "Finance",
        "Legal, HR & Property",
        "Council total",
    ]
    assert exported["summary"][-1]["Total"] == 3 and exported["summary"][-1]["Blue"] == 1
    # No formula anywhere in the rollup, whatever department text starts with.
    with zipfile.ZipFile(out) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets and not any(b"<f>" in z.read(n) or b"<f " in z.read(n) for n in sheets)


def test_cli_template_is_a_valid_empty_plan(tmp_path, home):
    out = tmp_path / "template.xlsx"
    run("template", "-o", out, "--department", "Registrars", "--period", "Q3 2024/25")
    p = run("validate", out, "--json")
    report = json.loads(p.stdout)
    assert (report["accepted"], report["department"], report["period"]) == (True, "Registrars", "2024/25 Q3")


def test_cli_help_is_fast_and_imports_no_heavy_modules():
    code = (
        "import sys, actionplan.cli as c; c.build_parser(); "
        "print(sorted(m for m in ('great_expectations','prefect','fastapi','duckdb') if m in sys.modules))"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.stdout.strip() == "[]"


def test_validate_repeated_warnings_grouped_by_code_all_lists_every_one(tmp_path, home, capsys):
    from actionplan.cli import main

    book = canonical_workbook(
        tmp_path / "finance.xlsx",
        actions=[action(f"F{i}", lead=None) for i in range(1, 6)] + [action("F6", due="TBC")],
    )
    assert main(["validate", str(book)]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        "  Warnings:",
        "    5 actions: no lead officer. Name the officer responsible for this item.",
        "      Actions!E2, E3, E4 … (`--all` lists every one)",
        "    Actions!F7 'TBC': no date found, so this item has no due date and cannot be checked for being overdue. "
        "Use dd/mm/yyyy (or a month such as March 2025) once the date is known.",
    ]
    assert main(["validate", str(book), "--all"]) == 0
    listed = capsys.readouterr().out.splitlines()[3:]
    assert (
        listed[:5]
        == [
            f"    Actions!E{row}: no lead officer. Name the officer responsible for this item."
            for row in range(2, 7)
        ]
        and len(listed) == 6
    )
    assert main(["validate", str(book), "--json"]) == 0
    assert [m["cell"] for m in json.loads(capsys.readouterr().out)["warnings"]] == [
        "E2",
        "E3",
        "E4",
        "E5",
        "E6",
        "F7",
    ]


def test_cli_submit_many_files_in_parallel_same_order_past_a_missing_one(tmp_path, home):
    files = [
        canonical_workbook(tmp_path / f"d{i}.xlsx", f"Dept {i}", [action(f"A{i}", status="G")])
        for i in range(4)
    ]
    missing = tmp_path / "missing.xlsx"
    p = run("submit", files[0], missing, *files[1:], "--workers", "2", check=False)
    assert p.returncode == 2  # a usage mistake, said once the others are stored
    assert [x for x in p.stderr.splitlines() if x.startswith("actionplan:")] == [
        f"actionplan: {missing}: no such file.",
        "actionplan: 1 of 5 files could not be opened (named above).",
    ]
    heads = [line for line in p.stdout.splitlines() if not line.startswith(" ")]
    assert heads == [f"{f} — Dept {i}, 2024/25 Q2 (layout: canonical)" for i, f in enumerate(files)]
    assert p.stdout.count("(new submission)") == 4
    assert len(list((home / "inbox" / "pending").glob("*.json"))) == 4


def test_cli_consolidate_in_a_folder_never_used_before(tmp_path):
    """The first command in a new folder: no home yet, so no PREFECT_HOME for the temporary Prefect server's
    database either (it could not open its SQLite file and the run ended in 'unexpected error'). It is made."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIONPLAN_", "PREFECT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "actionplan", "consolidate", "--period", "2024/25 Q2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "unexpected error" not in done.stderr
    assert (tmp_path / "actionplan-data" / "prefect").is_dir()
    assert (tmp_path / "actionplan-data" / "rollups" / "rollup-2024-25-Q2.xlsx").is_file()


def _processes_with(marker: str) -> list[int]:
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if marker.encode() in environ.read_bytes():
                found.append(int(environ.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")
def test_cli_exits_at_once_and_leaves_no_process_behind(tmp_path, home):
    """`actionplan` leaves through os._exit once its work is reported (cli.run): the exit handlers still stop
    Prefect's temporary server and the helper processes, the output is all there, and the exit code is kept."""
    import uuid

    run("submit", canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]))
    marker = f"ACTIONPLAN_TEST_MARKER={uuid.uuid4()}"
    name, value = marker.split("=")
    p = run("consolidate", "--period", "2024/25 Q2", env={name: value})
    assert p.stdout.rstrip().splitlines()[-1].startswith("Data Docs: ")
    deadline = time.monotonic() + 20  # the idle GX process is told to go, not waited for: it goes in a moment
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == []
    assert run("consolidate", "--period", "Autumn", env={name: value}, check=False).returncode == 2


def test_a_flow_command_starts_prefects_server_before_it_imports_the_cli(tmp_path, home):
    """`actionplan consolidate` (launch.py) starts Prefect's temporary server before pandas, Prefect or the CLI are
    imported, so the server's seconds of start-up overlap theirs; any other command never starts one."""
    run("submit", canonical_workbook(tmp_path / "f.xlsx", actions=[action("F1")]))
    probe = (
        "import sys\n"
        "seen = []\n"
        "def hook(event, args):\n"
        "    if event == 'subprocess.Popen' and 'uvicorn' in map(str, args[1] or ()):\n"
        "        seen.append(sorted({'pandas', 'prefect', 'actionplan.cli'} & set(sys.modules)))\n"
        "sys.addaudithook(hook)\n"
        "import atexit\n"
        "atexit.register(lambda: print('SERVER STARTS', seen, file=sys.stderr, flush=True))\n"
        "from actionplan.launch import run\n"
        "run()\n"
    )

    def command(*args):
        return run_probe(tmp_path, probe, *args)

    p = command("consolidate", "--period", "2024/25 Q2")
    assert p.returncode == 0, p.stderr
    assert "Rollup written" in p.stdout
    assert "SERVER STARTS [[]]" in p.stderr  # once, with none of them imported yet
    assert "SERVER STARTS []" in command("export", "--help").stderr


def test_a_flow_call_imports_nothing_of_its_own_once_the_server_answers(tmp_path, home):
    """What calling a flow imports on its way to the flow's start (Prefect's flow engine, fastapi's encoders for
    its parameters, graphviz for its visualisation) is imported while Prefect's temporary server still starts,
    not between the server's first answers, where each import would delay the flow's start."""
    probe = (
        "import sys\n"
        "from actionplan import runs\n"
        "late, answered = [], []\n"
        "def hook(event, args):\n"
        "    if event == 'import' and answered and args[0].split('.')[0] in ('fastapi', 'graphviz', 'starlette'):\n"
        "        late.append(args[0])\n"
        "    if event == 'import' and answered and args[0] == 'prefect.flow_engine':\n"
        "        late.append(args[0])\n"
        "sys.addaudithook(hook)\n"
        "wait = runs._TemporaryServer.wait_ready\n"
        "def waiting(self):\n"
        "    url = wait(self)\n"
        "    answered.append(url)\n"
        "    return url\n"
        "runs._TemporaryServer.wait_ready = waiting\n"
        "import atexit\n"
        "atexit.register(lambda: print('ANSWERED', len(answered), 'LATE', sorted(set(late)), file=sys.stderr))\n"
        "from actionplan.launch import run\n"
        "run()\n"
    )
    p = run_probe(tmp_path, probe, "ingest")
    assert p.returncode == 0, p.stderr
    assert "0 loaded" in p.stdout
    assert "ANSWERED 1 LATE []" in p.stderr
