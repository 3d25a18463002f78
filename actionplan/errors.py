"""Exceptions named for what happened; only the edges (CLI, service, flows) turn them into messages."""


class ActionplanError(Exception):
    """Something went wrong that a user can act on."""


class StartupError(ActionplanError):
    """A setting is missing or invalid, so actionplan cannot start."""


class UnreadableWorkbook(ActionplanError):
    """The file is not a workbook actionplan can read."""


class UnknownPeriod(ActionplanError):
    """The period is not one actionplan recognises (use e.g. 2024/25 Q2)."""


class UnknownLayout(ActionplanError):
    """No layout by that name exists."""


class LayoutFileInvalid(ActionplanError):
    """A layout file could not be understood."""


class WarehouseUnavailable(ActionplanError):
    """The warehouse could not be opened (locked by another process, or unreachable)."""


class NothingToRollUp(ActionplanError):
    """No accepted submission and no known department for this period."""


class UnknownCouncil(ActionplanError):
    """No council by that name is on record."""


class WarehouseNeedsUpgrade(ActionplanError):
    """The warehouse was made by an earlier version of actionplan; the next ingest upgrades it."""
