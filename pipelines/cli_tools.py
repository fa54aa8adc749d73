"""The ``deferral`` commands beside ``generate`` and ``run``: ``docs`` (the auditor pages over HTTP),
``diff`` (two publications compared) and ``worker`` (a Celery worker). Registered on the app in
pipelines/cli.py."""

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"deferral: {message}", err=True)
    raise typer.Exit(code)


def docs(
    data_dir: Annotated[Path, typer.Option(help="Data dir whose validation pages and reports are served.")],
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1; the UI's links use DEFERRAL_DOCS_URL.")] = 8765,
) -> None:
    """Serve the auditor pages over HTTP, so the links in the Dagster UI open: data_docs/ (the validation
    report, GX Data Docs) at /, the published reports at /report/, a unit's trail at /explain?unit=U (as
    `deferral explain` prints it). Nothing else of the data dir (never raw/, warehouse/ or quarantine/,
    which hold person ids) is reachable."""
    from pipelines.docs_server import serve

    data_dir = data_dir.resolve()
    typer.echo(f"serving {data_dir / 'data_docs'} and {data_dir / 'published/report'} on 127.0.0.1:{port} (Ctrl-C)")
    serve(data_dir, port)


def worker(
    name: Annotated[
        str, typer.Option(help="The worker's name, unique per machine (Celery's --hostname).")
    ] = "deferral@%h",
    concurrency: Annotated[int, typer.Option(help="Steps this worker runs at once (each is one DuckDB step).")] = 1,
    log_level: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Start a Celery worker for `deferral run --executor celery` and the launchpad: steps from the broker
    DEFERRAL_CELERY_BROKER (default redis://127.0.0.1:6379/0), run with this machine's DEFERRAL_* settings."""
    from pipelines.executors import broker_url, start_worker

    typer.echo(f"worker {name}: steps from {broker_url()}, {concurrency} at a time (Ctrl-C stops)")
    start_worker(name, concurrency, log_level)


def diff(
    data_dir: Annotated[Path, typer.Option(help="Data dir whose publications/ are compared.")],
    from_version: Annotated[
        Optional[str], typer.Option("--from", help="A publication (publications/<name>); default: the one before --to.")
    ] = None,
    to_version: Annotated[
        Optional[str], typer.Option("--to", help="A publication; default: the current one (published/).")
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text | json | csv")] = "text",
) -> None:
    """Rows added, removed and changed per published table between two publications, by the keys of
    SPEC section 7, with the old and new value of each changed column."""
    import duckdb

    from assets.publication.diff import compare
    from pipelines.publications import csv_lines, pick, text_lines

    if output not in ("text", "json", "csv"):
        raise typer.BadParameter("--format must be text, json or csv")
    try:
        old, new = pick(data_dir.resolve(), from_version, to_version)
    except ValueError as problem:
        _fail(str(problem))
    manifests = [json.loads((v / "PUBLICATION.json").read_text(encoding="utf-8")) for v in (old, new)]
    with duckdb.connect() as con:
        result = compare(con, old, new, manifests[0].get("tables"), manifests[1].get("tables"))
    if output == "json":
        json.dump({"from": old.name, "to": new.name, "tables": result}, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for line in (csv_lines if output == "csv" else text_lines)(old.name, new.name, result):
            typer.echo(line)


def explain(
    data_dir: Annotated[Path, typer.Option(help="Data dir whose current publication is explained.")],
    unit: Annotated[Optional[str], typer.Option("--unit", help="The unit's unit_id.")] = None,
    uscc: Annotated[Optional[str], typer.Option("--uscc", help="Or its uscc.")] = None,
    as_of: Annotated[
        Optional[str],
        typer.Option("--as-of", help="A report month the publication holds (YYYY-MM); default: its month."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="text | json (docs/explain.md)")] = "text",
) -> None:
    """Why a unit has its figures: the trail of SPEC section 7 (classification, region, decision and window,
    ledger, obligations with payments and late-fee arithmetic, status and risk), each fact with its raw file
    and line and each rule with its profile parameter and clause. Reads the publication; recomputes nothing."""
    from assets.explain.answer import explain as trail_of
    from assets.explain.text import lines
    from assets.explain.trail import ExplainError
    from assets.resources import Warehouse
    from assets.settings import current_settings

    if output not in ("text", "json"):
        raise typer.BadParameter("--format must be text or json")
    if (unit is None) == (uscc is None):
        _fail("give one of --unit or --uscc")
    warehouse = Warehouse(data_dir=str(data_dir.resolve()), settings=current_settings())  # resolved, outside a run
    try:
        trail = trail_of(warehouse.root, warehouse.profiles(), warehouse.pii_key, unit, uscc, as_of)
    except ExplainError as problem:
        _fail(str(problem))
    if output == "json":
        json.dump(trail, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        for line in lines(trail):
            typer.echo(line)


def load_postgres(
    data_dir: Annotated[Path, typer.Option(help="Data dir whose raw/ files are loaded.")],
    to: Annotated[Path, typer.Option(help="Data dir that gets a sources.yaml reading the tables back.")],
    connection: Annotated[
        str, typer.Option(help="The environment variable holding the PostgreSQL URI (never the URI itself).")
    ] = "DEFERRAL_SOURCE_POSTGRES",
    schema: Annotated[str, typer.Option(help="The schema the tables are written to (replaced).")] = "deferral",
) -> None:
    """Load a data dir's raw files into a PostgreSQL schema (one text table per raw table) and write a
    sources.yaml in --to that reads them through the database path: try it on the sample, then
    `deferral run --data-dir <to>`."""
    import dagster as dg

    from pipelines.pg_load import load, write_sources

    uri = dg.EnvVar(connection).get_value()
    if not uri:
        _fail(f"the environment variable {connection} is not set: set it to postgresql://user:password@host:port/db")
    try:
        loaded = load(data_dir.resolve(), uri, schema)
    except Exception as problem:  # the driver's errors: a refused connection, a wrong password
        _fail(f"postgresql ({connection}): {' '.join(str(problem).split())[:300]}")
    for table, n in loaded.items():
        skipped = f" ({n['not_loadable']} records with a wrong field count not loadable)" if n["not_loadable"] else ""
        typer.echo(f"{schema}.{table}: {n['rows']:,} rows{skipped}")
    typer.echo(f"wrote {write_sources(to.resolve(), connection, schema)}: run `deferral run --data-dir {to}`")
