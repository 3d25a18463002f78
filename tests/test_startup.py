"""actionplan/startup.py: the commands and helper processes that import much do it with the garbage collector
paused, then freeze what the imports made and let the collector run; nothing of the kind in a process that did not
ask for it. Each check runs a process of its own (a frozen test process would keep its garbage)."""

from __future__ import annotations

import gc
import subprocess

from actionplan import startup
from tests.conftest import action, canonical_workbook, run_probe

# A probe: the command's real entry point, an audit hook noting whether the collector ran when pandas and Prefect
# were imported, and at exit whether it runs and how many objects it skips (frozen).
PROBE = """
import gc, sys
seen = {}
def hook(event, args):
    if event == "import" and args[0] in ("pandas", "prefect", "prefect.server.api.server") and args[0] not in seen:
        seen[args[0]] = gc.isenabled()
sys.addaudithook(hook)
import atexit
atexit.register(lambda: print("GC", sorted(seen.items()), gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr))
"""


def _probe(tmp_path, code: str, *args: str) -> subprocess.CompletedProcess:
    return run_probe(tmp_path, PROBE + code, *args)


def test_resume_without_a_pause_leaves_the_collector_alone():
    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    startup.resume()
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)


def test_a_flow_command_imports_with_the_collector_paused_then_runs_it(tmp_path, home):
    p = _probe(tmp_path, "from actionplan.launch import run\nrun()\n", "ingest")
    assert p.returncode == 0, p.stderr
    assert "0 loaded" in p.stdout
    assert "GC [('pandas', False), ('prefect', False)] True True" in p.stderr


def test_submit_checks_with_the_collector_running_and_the_imports_frozen(tmp_path, home):
    files = [canonical_workbook(tmp_path / f"{n}.xlsx", actions=[action(f"{n}1")]) for n in "AB"]
    p = _probe(tmp_path, "from actionplan.launch import run\nrun()\n", "submit", *map(str, files))
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("new submission") == 2
    assert "GC [('pandas', False)] True True" in p.stderr


def test_another_command_keeps_the_collector_as_python_starts_it(tmp_path, home):
    p = _probe(tmp_path, "from actionplan.launch import run\nrun()\n", "export", "--help")
    assert p.returncode == 0, p.stderr
    assert "GC [] True False" in p.stderr


def test_prefects_server_app_is_made_with_the_collector_paused(tmp_path):
    p = _probe(
        tmp_path,
        "from actionplan.startup import prefect_server_app\n"
        "app = prefect_server_app()\n"
        "print(type(app).__name__, any(getattr(r, 'path', '') == '/api' for r in app.routes))\n",
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["FastAPI", "True"]
    assert "GC [('prefect', False), ('prefect.server.api.server', False)] True True" in p.stderr
