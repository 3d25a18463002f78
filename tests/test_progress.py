"""Progress of long CLI work: rich bars on a terminal (a real pseudo-terminal), plain lines when piped."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from actionplan import progress
from tests.conftest import action, canonical_workbook

CLI = [sys.executable, "-m", "actionplan"]


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "ACTIONPLAN_HOME": str(home), "TERM": "xterm-256color", "COLUMNS": "120"}


def _in_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """What a person at a terminal sees when running the command (stdout and stderr on one pseudo-terminal)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env, cwd=cwd)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the command exited and closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=600)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def _workbooks(tmp_path: Path) -> list[str]:
    return [
        str(
            canonical_workbook(
                tmp_path / f"{name.lower()}.xlsx", department=name, actions=[action(f"{name[0]}1")]
            )
        )
        for name in ("Finance", "Legal", "Housing")
    ]


def test_progress_lines_not_a_terminal(capsys):
    with progress.shown(sys.stderr):
        progress.begin("files checked", 2)
        progress.advance("files checked", "a.xlsx")
        progress.advance("files checked", "b.xlsx")
    assert capsys.readouterr().err == "files checked 1/2: a.xlsx\nfiles checked 2/2: b.xlsx\n"


def test_progress_nobody_watching_prints_nothing(capsys):
    progress.begin("sheets written")
    progress.advance("sheets written", "Summary")
    assert capsys.readouterr() == ("", "")


def test_progress_of_another_process_is_relayed_line_by_line(capsys):
    """The GX validation's process reports through progress.relayed on its stdout; the flow's process replays
    each line with relay, to its own bars or lines, and passes over anything else that process printed."""
    import io

    sent = io.StringIO()
    with progress.relayed(sent):
        progress.begin("suites validated", 2)
        progress.advance("suites validated", "actions\tand\nmore")
        progress.advance("suites validated")
    lines = sent.getvalue().splitlines(keepends=True)
    assert len(lines) == 3 and all(line.startswith(progress.RELAY_PREFIX + "\t") for line in lines)
    with progress.shown(sys.stderr):
        assert [progress.relay(line) for line in ["GX says hello\n", *lines]] == [False, True, True, True]
    assert capsys.readouterr().err == "suites validated 1/2: actions and more\nsuites validated 2/2\n"


def test_submit_piped_prints_each_report_as_it_goes_and_plain_progress_lines(tmp_path):
    files = _workbooks(tmp_path)
    done = subprocess.run(
        [*CLI, "submit", *files, "--by", "test"],
        capture_output=True,
        text=True,
        env=_env(tmp_path / "home"),
        cwd=tmp_path,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "files checked 1/3: finance.xlsx\nfiles checked 2/3: legal.xlsx\nfiles checked 3/3: housing.xlsx\n"
    )
    assert "\x1b" not in done.stdout + done.stderr and "\r" not in done.stdout + done.stderr
    assert [line.split(" — ")[0] for line in done.stdout.splitlines() if " — " in line] == files


def test_submit_and_consolidate_on_a_terminal_show_progress_bars(tmp_path):
    env = _env(tmp_path / "home")
    shown = _in_terminal([*CLI, "submit", *_workbooks(tmp_path), "--by", "test"], env, tmp_path)
    assert "files checked" in shown and "3/3" in shown and "━" in shown
    assert "files checked 1/3: finance.xlsx" not in shown  # bars, not the piped lines
    assert "Submission id" in shown

    shown = _in_terminal([*CLI, "consolidate", "--period", "2024/25 Q2"], env, tmp_path)
    assert "departments written" in shown and "sheets written" in shown and "suites validated" in shown
    assert "━" in shown and "3/3" in shown
    assert "Rollup written:" in shown
