"""Defaults of the checks' thresholds that settings.py exposes: here, and not in rules.py, so that reading the
settings imports nothing heavy (the `actionplan` command reads them before anything else; see launch.py)."""

PLAUSIBLE_RATIO = 10.0  # a KPI actual ten times its target or last period's (or a tenth of it): implausible
