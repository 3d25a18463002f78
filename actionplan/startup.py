"""Start-up with Python's garbage collector paused, then the start-up's objects set aside from its passes.

Importing Prefect, Great Expectations or pandas makes hundreds of thousands of objects that live as long as the
process; the cyclic garbage collector walks them again and again while they are made (a quarter of Prefect's
server's start-up: 2.65 s with it, 1.95 s without) and at each full pass afterwards (GX's validation of a quarter
3.0 s, 2.6 s with them frozen). So a process that imports much pauses the collector for its imports (pause), and
once they are done freezes what they made, which the collector then skips, and lets it run again (resume).
Objects are still freed as soon as nothing refers to them; only cycles made during the pause wait for the next
pass, and the frozen ones are never looked at again (what an import makes stays anyway).
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Pause the garbage collector for the imports to come (resume ends the pause). Called by a process's entry
    point only: the `actionplan` command for the commands that import much (launch.py), a helper process's start."""
    global _paused
    _paused = True
    gc.disable()


def resume() -> None:
    """The imports are done: what exists now is set aside from the collector's passes, and the collector runs.
    Nothing, where this process did not pause (actionplan used as a library, a test run)."""
    global _paused
    if not _paused:
        return
    _paused = False
    gc.freeze()
    gc.enable()


def prefect_server_app():
    """Prefect's server app (prefect.server.api.server.create_app) made with the collector paused: the factory the
    temporary server's uvicorn is given (runs._TemporaryServer). Its lifespan (the database's migrations) runs
    afterwards, as it would."""
    pause()
    try:
        from prefect.server.api.server import create_app

        return create_app()
    finally:
        resume()
