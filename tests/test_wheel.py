"""The built wheel, installed into a fresh virtual environment outside the checkout, runs on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (path,) = out.glob("actionplan-*.whl")
    return path


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A new venv far from the checkout with the wheel and its dependencies (from pip's cache where it can)."""
    root = tmp_path_factory.mktemp("elsewhere")
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    pip = root / "venv" / "bin" / "pip"
    done = subprocess.run(
        [str(pip), "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return root / "venv"


@pytest.fixture()
def outside(venv, tmp_path) -> tuple[Path, dict[str, str]]:
    """A working folder outside the checkout and an environment that cannot see the checkout's code."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["ACTIONPLAN_HOME"] = str(tmp_path / "home")
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    return tmp_path, env


def test_wheel_carries_its_data_and_no_generic_top_level_packages(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"actionplan"}
    for data in (
        "actionplan/expectations/actions.json",
        "actionplan/expectations/kpis.json",
        "actionplan/templates/layouts/canonical.toml",
        "actionplan/templates/layouts/governance.toml",
        "actionplan/warehouse/migrations/0001_initial.sql",
        "actionplan/excel_addin/manifest.xml",
        "actionplan/excel_addin/static/client.js",
    ):
        assert data in names, data


def test_wheel_installs_no_warehouse_or_flows_package(venv):
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert not (site / "warehouse").exists() and not (site / "flows").exists()
    assert not (site / "excel_addin").exists() and not (site / "expectations").exists()
    assert (site / "actionplan" / "warehouse" / "migrations").is_dir()


def test_wheel_template_validate_and_layouts_outside_the_checkout(outside):
    cwd, env = outside
    done = _run(
        ["actionplan", "template", "-o", "finance.xlsx", "--department", "Finance", "--period", "2024/25 Q2"],
        cwd,
        env,
    )
    assert done.returncode == 0, done.stderr
    for validator in ("compiled", "gx"):
        done = _run(
            ["actionplan", "validate", "finance.xlsx", "--json"],
            cwd,
            {**env, "ACTIONPLAN_VALIDATOR": validator},
        )
        assert done.returncode in (0, 1), done.stderr
        report = json.loads(done.stdout)
        (one,) = report if isinstance(report, list) else [report]
        assert one["department"] == "Finance" and one["period"] == "2024/25 Q2"
    done = _run(["actionplan", "layouts"], cwd, env)
    assert done.returncode == 0, done.stderr
    for name in ("canonical", "tracker", "governance", "performance", "service_plan", "colour_rag"):
        assert name in done.stdout
    # The code that ran is the installed wheel's, not the checkout's.
    where = _run(
        [
            "python",
            "-c",
            "import actionplan, actionplan.warehouse as w; print(actionplan.__file__, w.__file__)",
        ],
        cwd,
        env,
    )
    assert str(REPO) not in where.stdout and "site-packages" in where.stdout


def test_wheel_runs_the_demo_outside_the_checkout(outside):
    cwd, env = outside
    done = _run(["actionplan", "demo"], cwd, env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Council total" in done.stdout
    assert list((cwd / "home" / "rollups").glob("rollup-*.xlsx"))
