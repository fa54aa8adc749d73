"""Parquet as the record between steps: quoting paths for DuckDB, atomic writes, scalars."""

import string
from pathlib import Path

import duckdb


def q(path: Path | str) -> str:
    """A SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """COPY a query to Parquet under a temporary name, then rename: readers never see half a
    file and a failed write leaves the previous file. Returns the row count written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    con.execute(f"COPY ({query}) TO {q(tmp)} (FORMAT parquet, COMPRESSION zstd)")
    tmp.replace(target)
    return scalar(con, f"SELECT count(*) FROM read_parquet({q(target)})")


def sql_statements(path: Path, **params) -> list[str]:
    """The statements of a ``.sql`` file, ``${name}`` placeholders filled in, split by DuckDB's own
    parser (a ``;`` inside a string or comment is no boundary). Each comes without its ``;`` and the
    comment lines after it, so the last one can be wrapped as ``COPY (<query>) TO …``."""
    text = string.Template(path.read_text(encoding="utf-8")).substitute(**params)
    out = []
    for statement in duckdb.extract_statements(text):
        lines = statement.query.rstrip().splitlines()
        while lines and (not lines[-1].strip() or lines[-1].strip().startswith("--")):
            lines.pop()
        out.append("\n".join(lines).rstrip().removesuffix(";").rstrip())
    return out
