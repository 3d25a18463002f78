"""The documentation cannot drift from the code: every setting, suite and CLI command is documented."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actionplan.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_settings_are_documented(setting):
    default = f"`{setting.default}`" if setting.default != "" else "(empty)"
    row = f"| `ACTIONPLAN_{setting.name.upper()}` | {default} | {setting.help} |"
    assert row in README


def test_every_message_code_is_documented():
    docs = (ROOT / "docs" / "workbook.md").read_text(encoding="utf-8")
    codes = {
        e["meta"]["code"]
        for f in (ROOT / "expectations").glob("*.json")
        for e in json.loads(f.read_text())["expectations"]
    }
    missing = sorted(c for c in codes if f"`{c}`" not in docs)
    assert not missing, f"codes not in docs/workbook.md: {missing}"


def test_readme_commands_are_real_cli_commands():
    from actionplan.cli import build_parser

    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)
    for cmd in (
        "template",
        "validate",
        "submit",
        "ingest",
        "consolidate",
        "export",
        "demo",
        "layouts",
        "convert",
        "serve",
        "token",
        "deploy",
        "bench",
    ):
        assert cmd in commands and f"actionplan {cmd}" in README
