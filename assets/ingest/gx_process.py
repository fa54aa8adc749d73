"""Where Great Expectations runs: in a process of its own when a run started one, else in this one.

GX's import and first data context take about three seconds of one core (scipy, altair, pydantic
models of every expectation), about a tenth of a city's run and most of a small month's ingest. The
steps that judge rows need GX only after their SQL pass, and the run's first seconds go to Dagster
(imports, definitions, the instance, observing the raw files). ``deferral run`` therefore starts one
spawned process (:func:`started`) that imports GX on the other core while this one starts the run; the
ingest steps of an in-process run hand it each suite and each batch of rows (Arrow tables: their
buffers pickle whole, not cell by cell) and get counts back. A step of another executor (a
Dagster multiprocess child, a Celery worker) or a test calls the same functions here.

The functions below run in whichever process holds GX; each open suite is kept under a key until
:func:`close_suite`.
GX 在独立进程中运行：`deferral run` 启动时即导入，与 Dagster 的启动并行。
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

import pyarrow as pa

# Counts without examples: Data Docs and check metadata must never show a raw (person) value.
SUMMARY = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}
ROW_IDS = ["source_file", "source_line"]

# this run's GX process and this end of its pipe, if one was started (one call at a time)
_PROCESS: tuple[multiprocessing.Process, Connection] | None = None
_CALLING = threading.Lock()
# in the process holding GX: key -> (data context, validation definition, whether it builds Data Docs)
_SUITES: dict[str, tuple] = {}


@contextmanager
def started(wanted: bool = True) -> Iterator[None]:
    """The GX process for the block (spawned: this process runs DuckDB threads a fork would copy mid-flight),
    importing GX at once and ended with the block (a run that judged nothing does not wait for the
    import); none unless ``wanted``, nor where this process may not have children (a Celery worker's
    pool process is daemonic). A pipe, not a pool: a pool's semaphores, held by a process ended mid-import,
    made the resource tracker print warnings after the run's summary."""
    global _PROCESS
    if not wanted or multiprocessing.current_process().daemon or _PROCESS is not None:
        yield
        return
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    process = context.Process(target=_serve, args=(there,), name="great-expectations", daemon=True)
    process.start()
    there.close()
    _PROCESS = (process, here)
    try:
        yield
    finally:
        _PROCESS = None
        here.close()
        process.terminate()
        process.join()


def call(function, *args):
    """``function(*args)`` in the GX process, or here when there is none."""
    if _PROCESS is None:
        return function(*args)
    process, pipe = _PROCESS
    with _CALLING:
        try:
            pipe.send((function, args))
            done, value = pipe.recv()
        except (EOFError, OSError) as error:
            raise RuntimeError(f"the Great Expectations process ended (exit code {process.exitcode})") from error
    if not done:
        raise value
    return value


def _serve(pipe: Connection) -> None:
    """The GX process: imports GX, then runs each call it is sent until the run closes the pipe. Ctrl-C is
    the run's to handle (it ends this process): no second traceback from here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm_up()
        failed = None
    except Exception as error:  # told to every call (GX missing or broken)
        failed = error
    while True:
        try:
            function, args = pipe.recv()
        except EOFError:
            return
        try:
            if failed is not None:
                raise failed
            reply = (True, function(*args))
        except Exception as error:
            reply = (False, error)
        try:
            pipe.send(reply)
        except Exception:  # an exception that does not pickle: its text
            pipe.send((False, RuntimeError(repr(reply[1]))))


def warm_up() -> None:
    """The GX process's first work: GX imported. tqdm, whose (disabled) progress bars GX makes for each
    validation, is given a thread lock first: its default, a multiprocessing lock, is a semaphore this
    process, ended by the run, would leave to the resource tracker (a warning after the run's summary)."""
    from tqdm import tqdm

    tqdm.set_lock(threading.RLock())
    gx()


def gx():
    """Great Expectations, imported when first needed (a run that keeps every table never needs it)."""
    import great_expectations

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    return great_expectations


def open_suite(key: str, name: str, expectations: list[dict], meta: dict, docs_dir: Path | None) -> None:
    """A data context (with the Data Docs site in ``docs_dir``, None: none) and the suite's validation of a
    whole dataframe, kept under ``key``."""
    context = gx().get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    if docs_dir is not None:
        from assets.ingest.gx_views import site_config  # imports GX's views

        context.add_data_docs_site(site_name="deferral", site_config=site_config(docs_dir))
    suite = context.suites.add(gx().ExpectationSuite(name=name, expectations=expectations, meta=meta))
    batch = (
        context.data_sources.add_pandas(f"{name}_rows")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("rows")
    )
    validation = context.validation_definitions.add(
        gx().ValidationDefinition(name=f"{name}_suite", data=batch, suite=suite)
    )
    _SUITES[key] = (context, validation, docs_dir is not None)


def counts(key: str, rows: pa.Table) -> list[tuple[str, str, int, int]]:
    """The suite under ``key`` over ``rows``: each expectation's (type, column, rows evaluated, unexpected)."""
    result = _SUITES[key][1].run(batch_parameters={"dataframe": rows.to_pandas()}, result_format=SUMMARY)
    return [
        (
            r.expectation_config.type,
            r.expectation_config.kwargs["column"],
            r.result.get("element_count", 0) or 0,
            r.result.get("unexpected_count", 0) or 0,
        )
        for r in result.results
    ]


def unexpected_rows(key: str, rows: pa.Table) -> list[tuple[str, int]]:
    """The (source_file, source_line) of the ``rows`` the suite under ``key`` (one expectation) rejects."""
    result = _SUITES[key][1].run(
        batch_parameters={"dataframe": rows.to_pandas()},
        result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ROW_IDS},
    )
    found = result.results[0].result.get("unexpected_index_list") or []
    return [(row["source_file"], int(row["source_line"])) for row in found]


def close_suite(key: str) -> None:
    """Builds the suite's Data Docs (when it has a site) and forgets it."""
    context, _, docs = _SUITES.pop(key)
    if docs:
        context.build_data_docs(site_names=["deferral"])
