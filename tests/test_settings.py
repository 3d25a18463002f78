"""Settings: declared once, typed, frozen, and checked at start-up with a message saying what is expected."""

from __future__ import annotations

import dataclasses

import pytest

from actionplan.errors import StartupError
from actionplan.settings import SETTINGS, Settings, load_settings


def test_settings_are_typed_from_their_declaration():
    s = load_settings(
        {"ACTIONPLAN_PORT": "8731", "ACTIONPLAN_TOLERANCE": "0.05", "ACTIONPLAN_HOST": "0.0.0.0"}
    )
    assert (s.port, s.tolerance, s.host) == (8731, 0.05, "0.0.0.0")
    assert {f.name: f.type for f in dataclasses.fields(Settings)}["port"] == "int"
    assert [x.name for x in SETTINGS] == [f.name for f in dataclasses.fields(Settings)]


def test_settings_cannot_be_changed_once_loaded():
    s = load_settings({})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"ACTIONPLAN_PORT": "eighty"},
            "ACTIONPLAN_PORT='eighty' is not valid: expected a whole number. "
            "Port `actionplan serve` listens on.",
        ),
        (
            {"ACTIONPLAN_TOLERANCE": "5"},
            "ACTIONPLAN_TOLERANCE=5.0 is not valid: give a fraction such as 0.025 for 2.5%.",
        ),
        ({"ACTIONPLAN_VALIDATOR": "fast"}, "ACTIONPLAN_VALIDATOR='fast' is not valid: use compiled or gx."),
    ],
)
def test_bad_settings_stop_start_up_with_what_is_expected(env, message):
    with pytest.raises(StartupError) as err:
        load_settings(env)
    assert str(err.value) == message
