"""Helper processes that work beside a flow's critical path (GX's validation, the snapshots) run at a lower CPU
priority: on a machine whose cores are all busy (a consolidation on two cores: Prefect's temporary server starting,
the ingest, the rollup), the work the run waits for goes first, and the helpers take whatever a core has left.
They still finish before the flow needs their results on any machine with a core to spare."""

from __future__ import annotations

import os
import subprocess

NICENESS = 10  # as `nice` gives by default


def usable_cores() -> int:
    """The cores this process may run on (its affinity on Linux, else the machine's): what its pools are sized to."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def lower_priority(process: subprocess.Popen) -> None:
    """Lower a helper process's CPU priority by NICENESS (where the system allows it; nothing otherwise)."""
    if not hasattr(os, "setpriority"):  # Windows
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, process.pid)
        os.setpriority(os.PRIO_PROCESS, process.pid, min(current + NICENESS, 19))
    except OSError:  # the process has already ended, or the system refuses
        pass
