"""Tables read from a database instead of (or beside) ``raw/<table>/`` files: PostgreSQL, through ADBC.

``<data-dir>/sources.yaml`` names, per table, the environment variable holding the connection URI
(resolved through ``dg.EnvVar``, like every setting; never a password in a file or in run config)
and a table or a query::

    tables:
      contributions: {connection: DEFERRAL_SOURCE_BUREAU, table: hi.contributions}
      units: {connection: DEFERRAL_SOURCE_BUREAU, query: "SELECT * FROM hi.units WHERE NOT test"}

A source is observed by asking the database what changed: its row count and the sum of its rows'
64-bit hashes, computed by the server (no row crosses the network, nothing is sorted). When that
differs from the snapshot's, the rows are streamed as Arrow batches (ADBC, never row by row in Python) to
``raw/<table>/postgresql/<schema.table>.parquet`` in a fixed order (every column), which the ingest
then reads like any Parquet export: every database row passes the same rules as a file row, and
lands in clean or quarantine with its source named ``postgresql:<schema.table>`` and its row number
in that order. An unchanged source keeps its snapshot, so its ingest is reused like an unchanged file.
数据库来源：按环境变量连接 PostgreSQL，数据未变时不重读。
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

import dagster as dg
import pydantic
import yaml

from assets.contracts import RAW_TABLES
from assets.ingest.sources import SNAPSHOT_FOLDER, BadInputFile, check_header

SOURCES_FILE = "sources.yaml"


class TableSource(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
    connection: str = pydantic.Field(pattern=r"^[A-Z_][A-Z0-9_]*$")  # the environment variable's name
    table: Optional[str] = pydantic.Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
    query: Optional[str] = None

    @pydantic.model_validator(mode="after")
    def _one_of_table_or_query(self):
        if (self.table is None) == (self.query is None):
            raise ValueError("give one of table (schema.table) or query")
        return self

    @property
    def name(self) -> str:
        """How quarantine rows and metadata name the source: the table, or the query's digest."""
        return self.table or "query-" + hashlib.sha256(self.query.encode()).hexdigest()[:12]

    @property
    def select(self) -> str:
        return f"SELECT * FROM {self.table}" if self.table else self.query


class SourcesFile(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
    tables: dict[str, TableSource]

    @pydantic.field_validator("tables")
    @classmethod
    def _contract_tables(cls, tables: dict) -> dict:
        unknown = sorted(set(tables) - set(RAW_TABLES))
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a table of the contract ({', '.join(RAW_TABLES)})")
        return tables


def declared(root: Path) -> dict[str, TableSource]:
    """The database sources of a data dir (none without ``sources.yaml``)."""
    path = root / SOURCES_FILE
    if not path.is_file():
        return {}
    try:
        return SourcesFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {}).tables
    except (yaml.YAMLError, pydantic.ValidationError) as error:
        first = str(error).splitlines()
        raise BadInputFile(f"{path}: not a sources file ({' '.join(first[:3])}); see docs/sources.md") from None


def snapshot_path(root: Path, table: str, source: TableSource) -> Path:
    return root / "raw" / table / SNAPSHOT_FOLDER / f"{source.name}.parquet"


def _connect(source: TableSource, table: str):
    import adbc_driver_postgresql.dbapi as pg

    where = f"{SNAPSHOT_FOLDER}:{source.name} (raw table {table}, connection {source.connection})"
    uri = dg.EnvVar(source.connection).get_value()
    if not uri:
        raise BadInputFile(
            f"{where}: the environment variable {source.connection} is not set; set it to the database's URI "
            "(postgresql://user:password@host:port/db) and run again. Nothing was read."
        )
    try:
        return pg.connect(uri)
    except Exception as error:  # the driver's own error types: a refused connection, a wrong password
        raise BadInputFile(
            f"{where}: cannot connect ({_first_line(error)}). Check the server and the credentials in "
            f"{source.connection}; nothing was read or published."
        ) from None


def _first_line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300]


def refresh(root: Path, table: str) -> Optional[dict]:
    """Brings ``table``'s database snapshot up to date: asks the server for its version, exports the rows
    again only when it changed. Returns what the database said (None: the table has no database source)."""
    source = declared(root).get(table)
    if source is None:
        return None
    target = snapshot_path(root, table, source)
    record = root / "warehouse" / "sources" / f"{table}.json"
    with _connect(source, table) as conn, conn.cursor() as cur:
        try:
            # order-independent and without a sort: the sum of each row's 64-bit hash (the first 16 hex of
            # the MD5 of its text), exact in numeric
            cur.execute(
                "SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 16))::bit(64)::bigint::numeric), 0)"
                f"::text FROM ({source.select}) t"
            )
            rows, digest = cur.fetchone()
        except Exception as error:
            raise BadInputFile(
                f"{SNAPSHOT_FOLDER}:{source.name} (raw table {table}): the query failed ({_first_line(error)})"
            ) from None
        version = {"source": f"{SNAPSHOT_FOLDER}:{source.name}", "rows": int(rows), "digest": digest}
        try:
            kept = json.loads(record.read_text(encoding="utf-8")) == version and target.exists()
        except (OSError, ValueError):
            kept = False
        if not kept:
            _export(cur, source, table, target)
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps(version), encoding="utf-8")
    return {**version, "exported": not kept}


def _export(cur, source: TableSource, table: str, target: Path) -> None:
    """The rows, every column in order (a fixed order, so the same rows give the same file), as Arrow
    batches to Parquet; the columns must be the contract's."""
    import pyarrow.parquet as pq

    cur.execute(f"SELECT * FROM ({source.select}) t ORDER BY t::text")
    reader = cur.fetch_record_batch()
    check_header(Path(f"{SNAPSHOT_FOLDER}:{source.name}"), list(reader.schema.names), RAW_TABLES[table].columns)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
        for batch in reader:
            writer.write_batch(batch)
    tmp.replace(target)
