"""`deferral load-postgres`: a data dir's raw files loaded into a PostgreSQL schema, one table per raw
table (every column text, exactly the cells the files hold), and a ``sources.yaml`` for a data dir that
reads them back through the database path (assets/ingest/db_sources.py). For trying that path on the
sample, and for the tests that compare it with the file path.

Records a table cannot hold (a CSV record with the wrong number of fields) are not loaded; the command
says how many. Rows are streamed as Arrow batches (ADBC bulk ingest), never one by one."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import yaml

from assets.contracts import RAW_TABLES
from assets.ingest.db_sources import SOURCES_FILE
from assets.ingest.sources import list_sources, raw_files
from assets.ingest.staging import stage_table
from assets.storage import ident, q


def load(data_dir: Path, uri: str, schema: str, tables: set[str] | None = None) -> dict[str, dict]:
    """Loads every raw table of ``data_dir`` (or those named in ``tables``) into ``schema``, replacing its
    tables; returns, per table, the rows loaded and the records not loadable."""
    import adbc_driver_postgresql.dbapi as pg

    loaded = {}
    work = Path(tempfile.mkdtemp(prefix="deferral-load-"))
    try:
        with duckdb.connect() as con, pg.connect(uri) as conn:
            with conn.cursor() as cur:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
            for table in (t for t in RAW_TABLES.values() if tables is None or t.name in tables):
                staged = work / table.name
                stage_table(
                    con, list_sources(raw_files(data_dir / "raw" / table.name)), table.columns, staged, data_dir
                )
                cells = ", ".join(ident(c) for c in table.columns)
                parts = q(staged / "part-*.parquet")
                rows = con.sql(f"SELECT {cells} FROM read_parquet({parts}) ORDER BY source_file, source_line")
                count = rows.count("*").fetchall()[0][0]
                with conn.cursor() as cur:
                    cur.adbc_ingest(table.name, rows.fetch_record_batch(), mode="replace", db_schema_name=schema)
                skipped = con.sql(f"SELECT count(*) FROM read_parquet({q(staged / 'rejects-*.parquet')})").fetchall()
                loaded[table.name] = {"rows": count, "not_loadable": skipped[0][0]}
            conn.commit()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return loaded


def write_sources(target: Path, connection: str, schema: str) -> Path:
    """``<target>/sources.yaml`` reading every raw table from ``schema`` through ``connection``."""
    target.mkdir(parents=True, exist_ok=True)
    path = target / SOURCES_FILE
    tables = {t: {"connection": connection, "table": f"{schema}.{t}"} for t in RAW_TABLES}
    header = "# Raw tables read from PostgreSQL (assets/ingest/db_sources.py); the URI is in the variable named.\n"
    path.write_text(header + yaml.safe_dump({"tables": tables}, sort_keys=False), encoding="utf-8")
    return path
