"""Settings, declared once with default and help, read from ACTIONPLAN_* variables or a settings file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

from .clock import zone_named
from .councils import DEFAULT_COUNCIL, council_in_file_name, council_name
from .errors import StartupError
from .limits import PLAUSIBLE_RATIO

# The package's data folders: top-level folders in the checkout, actionplan.* packages in the wheel.
LAYOUTS_DIR = Path(str(resources.files("actionplan.templates"))) / "layouts"
EXPECTATIONS_DIR = Path(str(resources.files("actionplan.expectations")))
# bench/ lives only in a source checkout, beside the package folder.
SOURCE_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One setting as the docs and checks see it: name, default, help and type."""

    name: str
    default: Any
    help: str
    kind: type = str


def _setting(default: Any, help_text: str) -> Any:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    """The settings in force, after defaults, the settings file and ACTIONPLAN_* variables (each declared once,
    here, with its default and help; the README's table and the start-up checks are made from these)."""

    home: str = _setting(
        "./actionplan-data", "Folder holding warehouse.duckdb, inbox/, archive/ and rollups/."
    )
    warehouse: str = _setting(
        "",
        "Warehouse to use: empty for the DuckDB file in the home folder, or a "
        "postgresql://user:password@host/db URL.",
    )
    inbox: str = _setting(
        "",
        "Folder for accepted submissions waiting to be loaded (empty: <home>/inbox). May be shared storage.",
    )
    council: str = _setting(
        DEFAULT_COUNCIL,
        "Council this install serves: its submissions, rollups and status page. Councils sharing "
        "one warehouse each set their own name; a single council can leave it.",
    )
    layouts: str = _setting(
        "", "Extra folder of layout files (*.toml) read besides the built-in templates/layouts/."
    )
    tolerance: float = _setting(
        0.025, "Default KPI tolerance as a fraction (0.025 = 2.5%), used when a KPI gives none."
    )
    plausible_ratio: float = _setting(
        PLAUSIBLE_RATIO,
        "A KPI actual more than this many times its target or its last period's actual (or less than one "
        "this-many-th of it) is warned about as implausible (a misplaced decimal point, a total typed for a rate).",
    )
    schedule: str = _setting(
        "0 7 * * 1-5", "Cron schedule of the consolidate deployment (council's local time)."
    )
    timezone: str = _setting("Europe/London", "Time zone of the schedule and of times printed in reports.")
    max_upload_mb: float = _setting(25.0, "Largest workbook or JSON payload accepted, in megabytes.")
    host: str = _setting("127.0.0.1", "Address `actionplan serve` listens on.")
    port: int = _setting(8000, "Port `actionplan serve` listens on.")
    public_url: str = _setting(
        "", "URL departments reach the service at (goes into the add-in manifest); empty: http://host:port."
    )
    publish_rollup: bool = _setting(
        False,
        "Whether every department's key may download the full council rollup (every department's actions). "
        "Off (the default): only the admin key may, until the committee has seen it; departments get the "
        "council summary and their own rows from Get council rollup.",
    )
    validator: str = _setting(
        "compiled",
        "How the expectation suites are run: `compiled` (pandas, the same rules, milliseconds) or "
        "`gx` (Great Expectations itself, 0.1-0.3 s per sheet).",
    )
    report_template: str = _setting(
        "",
        "A council's own Word template (.docx) for `actionplan report`: its styles, header and logo are kept "
        "and its body replaced; empty: Word's plain styles.",
    )
    smtp_host: str = _setting(
        "", "Mail server reminders are sent through (empty: `actionplan remind` can only --dry-run)."
    )
    smtp_port: int = _setting(
        25, "Port of the mail server (587 with STARTTLS, 25 inside the council's network)."
    )
    smtp_from: str = _setting(
        "", "Address reminders come from, e.g. performance@council.gov.uk (replies go there)."
    )
    smtp_user: str = _setting("", "User name for the mail server, if it needs one.")
    smtp_password: str = _setting("", "Password for the mail server, if it needs one.")
    smtp_starttls: bool = _setting(
        False, "Upgrade the mail server connection with STARTTLS before signing in (true or false)."
    )
    remind_days: str = _setting(
        "7,2",
        "Days before each deadline the `remind` deployment emails the departments still owing a plan, "
        "e.g. 7,2.",
    )
    entra_tenant: str = _setting(
        "",
        "The council's Microsoft Entra ID tenant (its id or domain): with the client id, staff sign in to the "
        "add-in with their Microsoft 365 account instead of pasting a key (empty: keys only).",
    )
    entra_client_id: str = _setting(
        "", "The add-in's app (client) id registered in Entra ID; sign-in tokens must be issued for it."
    )
    entra_authority: str = _setting(
        "https://login.microsoftonline.com",
        "Where the tenant's signing keys and tokens come from (Microsoft's "
        "public cloud unless the council is on a national cloud).",
    )
    entra_admin_role: str = _setting(
        "actionplan.admin", "App role that makes a signed-in user corporate performance (admin)."
    )
    entra_admin_groups: str = _setting(
        "", "Entra ID group ids (comma-separated) whose members are corporate performance (admin)."
    )

    @property
    def values(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def home_path(self) -> Path:
        return Path(self.home).expanduser().absolute()

    @property
    def inbox_path(self) -> Path:
        return Path(self.inbox).expanduser() if self.inbox else self.home_path / "inbox"

    @property
    def archive_path(self) -> Path:
        return self.home_path / "archive"

    @property
    def rollups_path(self) -> Path:
        return self.home_path / "rollups"

    def rollup_file(self, period_label: str, council: str = DEFAULT_COUNCIL) -> Path:
        """Where a council's rollup for a period lives: rollups/rollup-2024-25-Q2.xlsx for the default council,
        rollup-Sheffield-2024-25-Q2.xlsx for another, rollup-all-councils-2024-25-Q2.xlsx combined (label canonical)."""
        period = period_label.replace("/", "-").replace(" ", "-")
        whose = council_in_file_name(council)
        return self.rollups_path / f"rollup-{whose + '-' if whose else ''}{period}.xlsx"

    def period_folder(self, period_label: str, council: str = DEFAULT_COUNCIL) -> str:
        """A period's name in folder names, as rollup_file spells it: 2024-25-Q2, Sheffield-2024-25-Q2."""
        whose = council_in_file_name(council)
        return f"{whose + '-' if whose else ''}{period_label.replace('/', '-').replace(' ', '-')}"

    def data_docs_path(self, period_label: str, council: str = DEFAULT_COUNCIL) -> Path:
        """The folder of a period's Great Expectations Data Docs site: data-docs/2024-25-Q2/ (index.html inside)."""
        return self.home_path / "data-docs" / self.period_folder(period_label, council)

    def validations_path(self, period_label: str, council: str = DEFAULT_COUNCIL) -> Path:
        """Where the flows keep each Great Expectations run's results for a period, one JSON file a run."""
        return self.home_path / "validations" / self.period_folder(period_label, council)

    @property
    def warehouse_url(self) -> str:
        return self.warehouse or str(self.home_path / "warehouse.duckdb")

    @property
    def layout_dirs(self) -> list[Path]:
        dirs = [LAYOUTS_DIR]
        if self.layouts:
            dirs.append(Path(self.layouts).expanduser())
        return dirs

    @property
    def service_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


_KINDS = {"str": str, "float": float, "int": int, "bool": bool}
SETTINGS: tuple[Setting, ...] = tuple(
    Setting(f.name, f.default, f.metadata["help"], _KINDS[str(f.type)]) for f in fields(Settings)
)


def load_settings(environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Read the settings from ACTIONPLAN_SETTINGS (a TOML file), then ACTIONPLAN_* variables, then overrides."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    known = {s.name: s for s in SETTINGS}
    file = env.get("ACTIONPLAN_SETTINGS")
    if file:
        try:
            with open(file, "rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise StartupError(
                f"ACTIONPLAN_SETTINGS points to {file}, which cannot be read: {exc.strerror}"
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise StartupError(f"The settings file {file} is not valid TOML: {exc}") from None
        for key, value in data.items():
            if key not in known:
                raise StartupError(
                    f"The settings file {file} has an unknown setting '{key}'. "
                    f"Known settings: {', '.join(known)}."
                )
            raw[key] = value
    for s in SETTINGS:
        value = env.get(f"ACTIONPLAN_{s.name.upper()}")
        if value is not None:
            raw[s.name] = value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    for s in SETTINGS:
        raw[s.name] = _checked(s, raw[s.name])
    return Settings(**raw)


def _checked(setting: Setting, value: Any) -> Any:
    if setting.name == "council":
        try:
            return council_name(value)
        except ValueError as exc:
            raise StartupError(f"ACTIONPLAN_COUNCIL={value!r} is not valid: {exc}.") from None
    if setting.name == "timezone":
        try:
            zone_named(str(value))
        except (ValueError, ZoneInfoNotFoundError):
            raise StartupError(
                f"ACTIONPLAN_TIMEZONE={value!r} is not a time zone this machine knows: use a name "
                "such as Europe/London."
            ) from None
    if setting.kind is bool:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in ("1", "true", "yes", "on"):
            return True
        if word in ("0", "false", "no", "off", ""):
            return False
        raise StartupError(
            f"ACTIONPLAN_{setting.name.upper()}={value!r} is not valid: use true or false. {setting.help}"
        )
    if setting.name == "remind_days":
        try:
            days = sorted({int(d) for d in str(value).replace(" ", "").split(",") if d}, reverse=True)
        except ValueError:
            days = [-1]
        if any(d < 0 for d in days):
            raise StartupError(
                f"ACTIONPLAN_REMIND_DAYS={value!r} is not valid: give whole numbers of days before "
                "the deadline, separated by commas, e.g. 7,2."
            )
        return ",".join(str(d) for d in days)
    if setting.kind is str:
        if setting.name == "validator" and str(value) not in ("compiled", "gx"):
            raise StartupError(f"ACTIONPLAN_VALIDATOR={value!r} is not valid: use compiled or gx.")
        return str(value)
    try:
        value = setting.kind(value)
    except (TypeError, ValueError):
        raise StartupError(
            f"ACTIONPLAN_{setting.name.upper()}={value!r} is not valid: expected a "
            f"{'number' if setting.kind is float else 'whole number'}. {setting.help}"
        ) from None
    if setting.name == "tolerance" and not 0 <= value < 1:
        raise StartupError(
            f"ACTIONPLAN_TOLERANCE={value} is not valid: give a fraction such as 0.025 for 2.5%."
        )
    if setting.name == "plausible_ratio" and value <= 1:
        raise StartupError(
            f"ACTIONPLAN_PLAUSIBLE_RATIO={value} is not valid: give a number above 1, such as 10 (ten times)."
        )
    if setting.kind in (int, float) and value < 0:
        raise StartupError(f"ACTIONPLAN_{setting.name.upper()}={value} cannot be negative.")
    return value
