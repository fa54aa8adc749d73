"""How the ``deferral`` process ends. Kept apart from the console logger (pipelines/console.py), which
imports Dagster: ``deferral --help`` answers without it (about a second sooner); a command imports it
when its work does (the settings are Dagster's)."""

import os
import sys


def end_after(app) -> None:
    """Runs the command ``app``, then ends the process without the interpreter's teardown (output
    flushed; every run, lock and file is closed by then). DuckDB's Python bindings print dozens of
    "nanobind: leaked …" lines during that teardown when its module outlives the objects that refer
    to it — a matter of teardown order, not of an open connection (every connection of a run is
    closed; docs/architecture.md) — and an operator's last line must be the run's summary."""
    code = 0
    try:
        app()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
