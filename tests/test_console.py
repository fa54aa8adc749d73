"""The operator's console (pipelines/console.py), fed the records Dagster gives it: a line per asset
step with k/N, a step's own INFO lines folded into it, warnings at once, a heartbeat while a step
runs long, checks and observations silent."""

import io
import logging
import time
from types import SimpleNamespace

import dagster as dg
from dagster._core.execution.compute_logs import redirect_to_file

from pipelines.console import ProgressHandler, release


def _record(step=None, event=None, message="", level=logging.DEBUG):
    record = logging.LogRecord("deferral", level, __file__, 1, message, None, None)
    record.dagster_meta = {
        "step_key": step,
        "dagster_event": SimpleNamespace(event_type=event) if event else None,
        "orig_message": message,
    }
    return record


def test_a_line_per_asset_step_with_its_progress_and_what_it_said():
    out = io.StringIO()
    handler = ProgressHandler(out, ["ingest__units", "publication"], heartbeat_seconds=0)
    handler.handle(_record(event=dg.DagsterEventType.RUN_START))
    handler.handle(_record("ingest__units", dg.DagsterEventType.STEP_START))
    handler.handle(_record("ingest__units", message="units: read 215 rows", level=logging.INFO))
    handler.handle(_record("ingest__units", message="as of 2022-08: 12 rows", level=logging.DEBUG))
    handler.handle(_record("ingest__units", message="2 rows warn", level=logging.WARNING))
    handler.handle(_record("ingest__units", dg.DagsterEventType.STEP_SUCCESS))
    handler.handle(_record("ingest__units_rows_accounted_for", dg.DagsterEventType.STEP_START))
    handler.handle(_record("ingest__units_rows_accounted_for", dg.DagsterEventType.STEP_SUCCESS))
    handler.handle(_record("publication", dg.DagsterEventType.STEP_START))
    handler.handle(_record("publication", dg.DagsterEventType.STEP_SUCCESS))
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()]  # without the clock
    assert len(lines) == 3  # the warning, then a line per asset step; the check's step is silent
    assert lines[0] == "WARNING ingest__units: 2 rows warn"
    assert lines[1].startswith("[ 1/2] ingest__units ") and lines[1].endswith(": units: read 215 rows")
    assert lines[2].startswith("[ 2/2] publication ")
    assert "as of 2022-08" not in out.getvalue()  # a partition's line is DEBUG: --verbose shows it


def test_a_long_step_gets_a_heartbeat():
    out = io.StringIO()
    handler = ProgressHandler(out, ["ingest__contributions"], heartbeat_seconds=0.2)
    handler.handle(_record(event=dg.DagsterEventType.RUN_START))
    handler.handle(_record("ingest__contributions.province[anhui_2022]", dg.DagsterEventType.STEP_START))
    time.sleep(0.9)
    beats = [line for line in out.getvalue().splitlines() if "running for" in line]
    assert beats and "ingest__contributions.province[anhui_2022] running for 0:00" in beats[0]
    handler.handle(_record("ingest__contributions.province[anhui_2022]", dg.DagsterEventType.STEP_SUCCESS))
    count = len(out.getvalue().splitlines())
    time.sleep(0.5)
    assert len(out.getvalue().splitlines()) == count  # nothing running: no heartbeat


def test_the_last_step_s_line_reaches_the_console_while_dagster_captures_the_process_s_output(tmp_path):
    # Dagster's compute-log capture points the process's stderr at a file for the plan and copies it
    # back with `tail -F`, stopped when the plan ends: a line written there in the last moment never
    # reached the console (dagster-io/dagster#23336). The console's lines go where the run started.
    console_file = tmp_path / "console.txt"
    with open(console_file, "w", encoding="utf-8") as terminal:
        handler = ProgressHandler(terminal, ["publication"], heartbeat_seconds=0)
        handler.handle(_record(event=dg.DagsterEventType.RUN_START))
        with redirect_to_file(terminal, str(tmp_path / "captured.txt")):  # Dagster's own redirect of a stream
            handler.handle(_record("publication", dg.DagsterEventType.STEP_START))
            handler.handle(_record("publication", dg.DagsterEventType.STEP_SUCCESS))
        release(handler)  # the descriptor the handler owns
    assert "[ 1/1] publication " in console_file.read_text(encoding="utf-8")
    assert "publication" not in (tmp_path / "captured.txt").read_text(encoding="utf-8")
