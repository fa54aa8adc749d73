"""Staging: a raw table's files written as Parquet of text cells, each record with its source file
and line; records with the wrong number of fields set aside (rule ``field_count:record``); a shared
file's records split by province in the same write. 暂存：原始文件逐条转为文本 Parquet。
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import duckdb

from assets.ingest.sources import (
    CHUNK,
    MAX_LINE_BYTES,
    BadInputFile,
    SourceFile,
    check_header,
    header,
    header_columns,
    relative_name,
)
from assets.storage import PARQUET_OPTIONS, q, side_by_side


def _transcode(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="gb18030", newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        shutil.copyfileobj(fin, fout, CHUNK)
    return dst


def stage_table(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    columns: tuple[str, ...],
    staged_dir: Path,
    root: Path,
    route: Callable[[str], str] | None = None,
    keep_typed: Callable[[dict[str, str]], frozenset[str]] | None = None,
    keys: dict[Path, str] | None = None,
) -> None:
    """Write every readable record of each file to ``staged_dir/part-<key>.parquet`` and its structural
    rejects to ``staged_dir/rejects-<key>.parquet``; columns: source_file, source_line, then the
    contract's columns. ``keys`` names each file's staged rows by what they are a function of
    (assets/ingest/reuse.py ``file_keys``; default: the file's place in the list): a file whose rows are
    already staged under its key is not read again, and what belongs to no current key is removed.

    ``route`` (a query of a file's records -> the same with a ``_province`` column) splits the
    records in the same write: ``staged_dir/<province>/part-<key>-K.parquet``. ``keep_typed`` (a Parquet
    file's column types -> the columns it keeps as they are) lets a Parquet file's parts keep its typed
    columns, judged by value (assets/ingest/rules.py ``typed_in_source``)."""
    keys = keys or {src.path: f"{src.index:04d}" for src in sources}
    current = {keys[src.path] for src in sources} or {EMPTY}
    staged_dir.mkdir(parents=True, exist_ok=True)
    own = [p for kind in STAGED_KINDS for p in staged_dir.glob(f"{kind}-*.parquet")]
    for path in [*own, *staged_dir.glob("*/part-*.parquet")]:
        if staged_key(path) not in current:
            path.unlink()
    for leftover in [*staged_dir.glob("_routing-*"), staged_dir / "_transcoded"]:
        shutil.rmtree(leftover, ignore_errors=True)
    transcoded = staged_dir / "_transcoded"
    # a file whose rejects are written (last) has all its rows staged
    todo = [src for src in sources if not (staged_dir / f"rejects-{keys[src.path]}.parquet").exists()]
    for key in [keys[src.path] for src in todo]:
        for part in [*staged_dir.glob(f"part-{key}.parquet"), *staged_dir.glob(f"*/part-{key}-*.parquet")]:
            part.unlink()  # what a run stopped midway left

    def stage(file_con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
        key = keys[src.path]
        _stage_file(file_con, src, columns, staged_dir, root, route, keep_typed, key, transcoded)
        file_con.execute(f"COPY staged_rejects TO {q(staged_dir / f'rejects-{key}.parquet')} (FORMAT parquet)")

    side_by_side(con, todo, stage)  # files side by side: each file's staging keeps about one core busy
    if not sources:  # no files: an empty part with the contract's columns, so the folder reads as a table
        cols = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in columns)
        con.execute(
            f"COPY (SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line, {cols} LIMIT 0) "
            f"TO {q(staged_dir / f'part-{EMPTY}.parquet')} (FORMAT parquet)"
        )
        con.execute(
            "COPY (SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line, NULL::VARCHAR AS csv_line "
            f"LIMIT 0) TO {q(staged_dir / f'rejects-{EMPTY}.parquet')} (FORMAT parquet)"
        )
    shutil.rmtree(transcoded, ignore_errors=True)


# the key of a folder staged from no file
EMPTY = "empty"
# what staging writes per file (a file's routes: assets/ingest/shares.py); judged-* and units-* are the engine's
STAGED_KINDS = ("part", "rejects", "routes")


def staged_key(path: Path) -> str:
    """The key a staged file was written under: ``part-<key>``, ``part-<key>-K``, ``rejects-<key>``."""
    stem = path.stem.split("-", 1)[1] if "-" in path.stem else path.stem
    return stem.split("-", 1)[0]


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    src: SourceFile,
    columns: tuple[str, ...],
    staged_dir: Path,
    root: Path,
    route: Callable[[str], str] | None,
    keep_typed: Callable[[dict[str, str]], frozenset[str]] | None,
    key: str,
    transcoded: Path,
) -> None:
    """One file's records to its part(s); its structural rejects left in the table ``staged_rejects``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged_rejects (source_file VARCHAR, source_line BIGINT, csv_line VARCHAR)"
    )
    rel_name = relative_name(src.path, root)
    if src.kind == "parquet":
        types = parquet_types(con, src.path, columns)
        query = parquet_records(con, src.path, columns, root, keep_typed(types) if keep_typed else frozenset())
        _write_part(con, query, staged_dir, key, route)
        return
    path = src.path if src.encoding == "utf-8" else _transcode(src.path, transcoded / f"{src.index:04d}.csv")
    names = header(path)
    check_header(src.path, names, columns)
    # each file gets its own rejects tables, so a reject is never attributed to another file
    # (dropped first: DuckDB appends to the tables of an earlier table's file of that index)
    con.execute(f"DROP TABLE IF EXISTS rejects_{src.index}; DROP TABLE IF EXISTS reject_scans_{src.index}")
    reader = (
        f"read_csv({q(path)}, all_varchar = true, header = true, delim = ',', quote = '\"', "
        "strict_mode = true, ignore_errors = true, store_rejects = true, auto_detect = false, "
        f"rejects_table = 'rejects_{src.index}', rejects_scan = 'reject_scans_{src.index}', "
        f"max_line_size = {MAX_LINE_BYTES}, columns = {header_columns(names)})"
    )
    present = set(names)
    cells = ", ".join(f'"{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in columns)
    # Accepted records keep file order. Without broken records the n-th record is line n + 1 (the
    # header is line 1): written in one read. A file with broken records is written again, each
    # record's line the n-th line not taken by a reject.
    _write_part(
        con,
        f"SELECT {q(Path(rel_name))} AS source_file, row_number() OVER () + 1 AS source_line, {cells} FROM {reader}",
        staged_dir,
        key,
        route,
    )
    if not con.execute(f"SELECT count(*) FROM rejects_{src.index}").fetchall()[0][0]:
        return
    for part in [*staged_dir.glob(f"part-{key}.parquet"), *staged_dir.glob(f"*/part-{key}-*.parquet")]:
        part.unlink()
    con.execute(f"DROP TABLE IF EXISTS rejects_{src.index}; DROP TABLE IF EXISTS reject_scans_{src.index}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _file AS SELECT row_number() OVER () AS n, {cells} FROM {reader}")
    con.execute(f"INSERT INTO staged_rejects SELECT DISTINCT ?, line, csv_line FROM rejects_{src.index}", [rel_name])
    query = f"""
        WITH rejected AS (SELECT source_line FROM staged_rejects WHERE source_file = {q(Path(rel_name))}),
        lines AS (
            SELECT row_number() OVER (ORDER BY l) AS n, l AS source_line
            FROM range(2, (SELECT count(*) FROM _file) + (SELECT count(*) FROM rejected) + 2) t(l)
            WHERE l NOT IN (SELECT source_line FROM rejected)
        )
        SELECT {q(Path(rel_name))} AS source_file, lines.source_line, {", ".join(f'"{c}"' for c in columns)}
        FROM _file JOIN lines USING (n)
    """
    _write_part(con, query, staged_dir, key, route)
    con.execute("DROP TABLE IF EXISTS _file")


def parquet_types(con: duckdb.DuckDBPyConnection, path: Path, columns: tuple[str, ...]) -> dict[str, str]:
    """A Parquet file's columns and their DuckDB types. An unreadable file or a wrong header stops with a
    message naming the file."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({q(path)})").fetchall()
        con.execute(f"SELECT count(*) FROM read_parquet({q(path)})").fetchall()
    except duckdb.Error as error:
        raise BadInputFile(
            f"{path}: not a readable Parquet file ({str(error).splitlines()[0]}); the file "
            "may be truncated. Copy or re-export it again."
        ) from None
    check_header(path, [r[0] for r in described], columns)
    return {r[0]: r[1] for r in described}


def parquet_records(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    columns: tuple[str, ...],
    root: Path,
    typed: frozenset[str] = frozenset(),
) -> str:
    """A Parquet file's records as staged rows (source_file, source_line, each contract column as
    text; a column the file lacks is NULL), as a query: a Parquet file needs no parsing, so a file
    that is one province's is read in place instead of written again (assets/ingest/shares.py).
    The ``typed`` columns keep their Parquet values (assets/ingest/rules.py ``typed_in_source``)."""
    present = set(parquet_types(con, path, columns))
    cells = ", ".join(
        f'"{c}"' if c in typed else f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in present else f'NULL::VARCHAR AS "{c}"'
        for c in columns
    )
    return (
        f"SELECT {q(Path(relative_name(path, root)))} AS source_file, file_row_number + 1 AS source_line, {cells} "
        f"FROM read_parquet({q(path)}, file_row_number = true)"
    )


def _write_part(
    con: duckdb.DuckDBPyConnection, query: str, staged_dir: Path, key: str, route: Callable[[str], str] | None
) -> None:
    """One file's records to ``staged_dir/part-<key>.parquet``, or split by ``route``."""
    if route is None:
        con.execute(f"COPY ({query}) TO {q(staged_dir / f'part-{key}.parquet')} ({PARQUET_OPTIONS})")
    else:
        _write_routed(con, route(query), staged_dir, key)


def _write_routed(con: duckdb.DuckDBPyConnection, query: str, staged_dir: Path, key: str) -> None:
    """One file's records, split by ``_province`` into ``staged_dir/<province>/part-<key>-K.parquet``
    (DuckDB writes ``_province=<value>/`` folders; renamed, so no reader takes them for Hive partitions)."""
    written = staged_dir / f"_routing-{key}"
    con.execute(f"COPY ({query}) TO {q(written)} ({PARQUET_OPTIONS}, PARTITION_BY (_province))")
    for folder in sorted(written.glob("_province=*")):
        target = staged_dir / folder.name.split("=", 1)[1]
        target.mkdir(exist_ok=True)
        for k, part in enumerate(sorted(folder.glob("*.parquet"))):
            part.rename(target / f"part-{key}-{k}.parquet")
    shutil.rmtree(written, ignore_errors=True)
