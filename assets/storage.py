"""Parquet as the record between steps: quoting paths for DuckDB, atomic writes, scalars."""

import functools
import glob
import shutil
import string
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import duckdb


def q(value: Path | str) -> str:
    """A SQL string literal (a path, a code, a text): the one place SQL quotes a value."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A SQL identifier (a column name), quoted."""
    return '"' + name.replace('"', '""') + '"'


def matching(pattern: Path) -> list[Path]:
    """The files a path or glob (as ``read_parquet`` reads it) names, in name order."""
    return sorted(Path(p) for p in glob.glob(str(pattern)))


def read_largest_first(pattern: Path) -> str:
    """``read_parquet`` of the files a path or glob names, the largest first. DuckDB estimates a list of
    Parquet files' rows from the first one: a clean table whose first file was an input of no accepted
    rows was taken for an empty table, and a join built its hash table on every row of it (the 105
    million contributions joined to the employee events: 26 s instead of 4 s)."""
    files = sorted(matching(pattern), key=lambda p: (-p.stat().st_size, str(p)))
    return f"read_parquet([{', '.join(q(p) for p in files)}])" if files else f"read_parquet({q(pattern)})"


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params=None):
    return con.execute(sql, params or []).fetchall()[0][0]


# How every Parquet file of the pipeline is written: zstd at level 1, not DuckDB's default 3 (the same
# size on the pipeline's tables, a tenth faster to write: a province's clean contributions 0.90 -> 0.81 s
# a 3.2 million rows; docs/architecture.md, "Parquet written at zstd level 1").
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1"


def write_parquet(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """COPY a query to Parquet under a temporary name, then rename: readers never see half a
    file and a failed write leaves the previous file. Returns the row count written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    written = scalar(con, f"COPY ({query}) TO {q(tmp)} ({PARQUET_OPTIONS})")  # COPY counts its rows
    tmp.replace(target)
    return int(written)


def distribute(work: Path, targets: list[Path]) -> list[int]:
    """The files of a write partitioned by ``_input`` (``work``) renamed to ``targets``, in input order;
    returns the inputs left to write alone: no rows (an input of a header alone has no partition), or a
    partition written in several files."""
    alone = []
    for n, target in enumerate(targets):
        files = sorted((work / f"_input={n}").glob("*.parquet"))
        if len(files) == 1:
            files[0].replace(target)
        else:
            alone.append(n)
    shutil.rmtree(work, ignore_errors=True)
    return alone


def side_by_side(con: duckdb.DuckDBPyConnection, items: list, work: Callable) -> None:
    """``work(connection, item)`` for every item, as many at a time as DuckDB has threads, each thread on
    a connection of its own to ``con``'s database (its temp tables its own; tables and settings shared).
    For work DuckDB runs mostly on one core (a CSV file's staging: the window numbering its lines keeps
    file order). With one thread, or one item, one after the other on ``con``. The first error stops
    what has not started and is raised here."""
    threads = min(int(scalar(con, "SELECT current_setting('threads')")), len(items))
    if threads <= 1:
        for item in items:
            work(con, item)
        return
    local, cursors = threading.local(), []

    def run(item) -> None:
        if not hasattr(local, "con"):
            local.con = con.cursor()
            cursors.append(local.con)
        work(local.con, item)

    try:
        with ThreadPoolExecutor(threads) as pool:
            futures = [pool.submit(run, item) for item in items]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        for cursor in cursors:
            cursor.close()


def sql_statements(path: Path, **params) -> list[str]:
    """The statements of a ``.sql`` file, ``${name}`` placeholders filled in, split by DuckDB's own
    parser (a ``;`` inside a string or comment is no boundary). Each comes without its ``;`` and the
    comment lines after it, so the last one can be wrapped as ``COPY (<query>) TO …``."""
    return list(_split(string.Template(path.read_text(encoding="utf-8")).substitute(**params)))


@functools.lru_cache(maxsize=1024)
def _split(text: str) -> tuple[str, ...]:
    """A script split once per process (a report-month step runs the same file for every month)."""
    out = []
    for statement in duckdb.extract_statements(text):
        lines = statement.query.rstrip().splitlines()
        while lines and (not lines[-1].strip() or lines[-1].strip().startswith("--")):
            lines.pop()
        out.append("\n".join(lines).rstrip().removesuffix(";").rstrip())
    return tuple(out)


def exact_preview(con: duckdb.DuckDBPyConnection, query: str, limit: int = 10) -> str:
    """The first rows of ``query`` as a Markdown table of exact text, as the Dagster UI shows them:
    DuckDB's own cast to text, so money keeps its two decimals (151891.11, 1432369.50, never
    1.43237e+06), dates are dates (2022-08-31) and NULL is an empty cell (no NaT, nan or <NA>).
    Never holds a raw person id: callers select person_key in its place."""
    rel = con.sql(f"SELECT * FROM ({query}) LIMIT {limit}")
    columns = rel.columns
    shown = ", ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '')" for c in columns)
    rows = con.sql(f"SELECT {shown} FROM ({rel.sql_query()})").fetchall()

    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
