"""Reading a raw table's folder: every CSV and Parquet file, in path order, as text.

CSV files are UTF-8 (with or without BOM) or GB18030; anything else stops the run with the
file's name. GB18030 files are transcoded to UTF-8 (streaming) before DuckDB reads them.
Records with the wrong number of fields are kept aside (rule ``field_count:record``). Every
cell is kept as text exactly as read; typed Parquet values are turned to text by DuckDB's
casts (date -> YYYY-MM-DD, decimal -> plain notation).
"""

from __future__ import annotations

import codecs
import csv
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import duckdb

CHUNK = 1 << 22
csv.field_size_limit(sys.maxsize)
MAX_LINE_BYTES = 64 << 20  # a record longer than this is a broken file, not a row


class BadInputFile(ValueError):
    """A raw file the pipeline cannot read as the contract says: the message names the file and
    what to do. Ingest stops the table with it (never a bare traceback)."""


class UndecodableFileError(BadInputFile):
    pass


# A GB18030 decoding is plausible when its non-ASCII characters are mostly common Chinese (GB2312):
# Latin-1/cp1252 bytes also decode as GB18030, but into rare characters ("Müller" -> "M黮ler").
MIN_COMMON_SHARE = 0.9
IGNORED_NOTE = "only .csv and .parquet files are read"


@dataclass(frozen=True)
class SourceFile:
    index: int
    path: Path
    kind: str  # csv | parquet
    encoding: str | None = None


def detect_encoding(path: Path) -> str:
    """'utf-8' (BOM or not) or 'gb18030'; raises UndecodableFileError naming the file otherwise.

    UTF-8 is strict, so a file that decodes is UTF-8. Nearly any bytes decode as GB18030, so a
    GB18030 decoding must also be plausible: at least MIN_COMMON_SHARE of its non-ASCII characters
    in GB2312 (the common characters); otherwise the file is most likely Latin-1/cp1252."""
    try:
        _decode(path, "utf-8-sig")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        non_ascii, common = _decode(path, "gb18030")
    except UnicodeDecodeError:
        raise UndecodableFileError(
            f"{path}: neither UTF-8 nor GB18030; re-export the file as UTF-8 (or GB18030)"
        ) from None
    if non_ascii and common < MIN_COMMON_SHARE * non_ascii:
        raise UndecodableFileError(
            f"{path}: not UTF-8, and read as GB18030 only {common:,} of its {non_ascii:,} non-ASCII characters are "
            "common Chinese characters: it is most likely another encoding (Latin-1/cp1252?). Nothing of it was "
            "read; re-export the file as UTF-8."
        )
    return "gb18030"


def _decode(path: Path, encoding: str) -> tuple[int, int]:
    """Decodes the whole file (streaming); returns (non-ASCII characters, of which GB2312-encodable)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    non_ascii = common = 0
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            if encoding == "gb18030" and text:
                wide = len(text) - len(text.encode("ascii", "ignore"))
                if wide:
                    non_ascii += wide
                    common += len(text.encode("gb2312", "ignore").decode("gb2312")) - (len(text) - wide)
            if not chunk:
                return non_ascii, common


def ignored_files(folder: Path) -> list[Path]:
    """Files in a table folder that are not read (an .xlsx or .txt placed there by mistake)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in (".csv", ".parquet"))


def raw_files(folder: Path) -> list[Path]:
    """The files of a table folder that are read, in path order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))


def list_sources(files: list[Path]) -> list[SourceFile]:
    for path in files:
        if path.stat().st_size == 0:
            raise BadInputFile(
                f"{path}: the file is empty (0 bytes), not even a header row. Re-export it with its "
                "header row, or remove it if it was not meant to be there."
            )
    out = []
    for i, path in enumerate(files):
        if path.suffix.lower() == ".csv":
            out.append(SourceFile(i, path, "csv", detect_encoding(path)))
        else:
            out.append(SourceFile(i, path, "parquet"))
    return out


def _transcode(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, encoding="gb18030", newline="") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        shutil.copyfileobj(fin, fout, CHUNK)
    return dst


def _q(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def stage_table(
    con: duckdb.DuckDBPyConnection,
    sources: list[SourceFile],
    columns: tuple[str, ...],
    staged_dir: Path,
    root: Path,
    route: Callable[[str], str] | None = None,
) -> None:
    """Write every readable record to ``staged_dir/part-NNNN.parquet`` and structural rejects to
    ``staged_dir/rejects.parquet``; columns: source_file, source_line, then the contract's columns.

    ``route`` (a query of a file's records -> the same with a ``_province`` column) splits the
    records in the same write: ``staged_dir/<province>/part-NNNN-K.parquet``."""
    if staged_dir.exists():
        shutil.rmtree(staged_dir)
    staged_dir.mkdir(parents=True)
    transcoded = staged_dir / "_transcoded"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged_rejects (source_file VARCHAR, source_line BIGINT, csv_line VARCHAR)"
    )
    for src in sources:
        rel_name = relative_name(src.path, root)
        if src.kind == "parquet":
            try:
                names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(src.path)})").fetchall()]
                con.execute(f"SELECT count(*) FROM read_parquet({_q(src.path)})").fetchall()
            except duckdb.Error as error:
                raise BadInputFile(
                    f"{src.path}: not a readable Parquet file ({str(error).splitlines()[0]}); the file "
                    "may be truncated. Copy or re-export it again."
                ) from None
            check_header(src.path, names, columns)
            present = set(names)
            cells = ", ".join(
                f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in columns
            )
            query = (
                f"SELECT {_q(Path(rel_name))} AS source_file, file_row_number + 1 AS source_line, {cells} "
                f"FROM read_parquet({_q(src.path)}, file_row_number = true)"
            )
        else:
            path = src.path if src.encoding == "utf-8" else _transcode(src.path, transcoded / f"{src.index:04d}.csv")
            names = _header(path)
            check_header(src.path, names, columns)
            # each file gets its own rejects tables, so a reject is never attributed to another file
            # (dropped first: DuckDB appends to the tables of an earlier table's file of that index)
            con.execute(f"DROP TABLE IF EXISTS rejects_{src.index}; DROP TABLE IF EXISTS reject_scans_{src.index}")
            reader = (
                f"read_csv({_q(path)}, all_varchar = true, header = true, delim = ',', quote = '\"', "
                "strict_mode = true, ignore_errors = true, store_rejects = true, auto_detect = false, "
                f"rejects_table = 'rejects_{src.index}', rejects_scan = 'reject_scans_{src.index}', "
                f"max_line_size = {MAX_LINE_BYTES}, columns = {_header_columns(names)})"
            )
            present = set(names)
            cells = ", ".join(f'"{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in columns)
            # Accepted records keep file order. Without broken records the n-th record is line n + 1 (the
            # header is line 1): written in one read. A file with broken records is written again, each
            # record's line the n-th line not taken by a reject.
            _write_part(
                con,
                f"SELECT {_q(Path(rel_name))} AS source_file, row_number() OVER () + 1 AS source_line, "
                f"{cells} FROM {reader}",
                staged_dir,
                src.index,
                route,
            )
            if not con.execute(f"SELECT count(*) FROM rejects_{src.index}").fetchall()[0][0]:
                continue
            for part in [
                *staged_dir.glob(f"part-{src.index:04d}.parquet"),
                *staged_dir.glob(f"*/part-{src.index:04d}-*.parquet"),
            ]:
                part.unlink()
            con.execute(f"DROP TABLE IF EXISTS rejects_{src.index}; DROP TABLE IF EXISTS reject_scans_{src.index}")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _file AS SELECT row_number() OVER () AS n, {cells} FROM {reader}"
            )
            con.execute(
                f"INSERT INTO staged_rejects SELECT DISTINCT ?, line, csv_line FROM rejects_{src.index}", [rel_name]
            )
            query = f"""
                WITH rejected AS (SELECT source_line FROM staged_rejects WHERE source_file = {_q(Path(rel_name))}),
                lines AS (
                    SELECT row_number() OVER (ORDER BY l) AS n, l AS source_line
                    FROM range(2, (SELECT count(*) FROM _file) + (SELECT count(*) FROM rejected) + 2) t(l)
                    WHERE l NOT IN (SELECT source_line FROM rejected)
                )
                SELECT {_q(Path(rel_name))} AS source_file, lines.source_line, {", ".join(f'"{c}"' for c in columns)}
                FROM _file JOIN lines USING (n)
            """
        _write_part(con, query, staged_dir, src.index, route)
        con.execute("DROP TABLE IF EXISTS _file")
    if not sources:  # no files: an empty part with the contract's columns, so the folder reads as a table
        cols = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in columns)
        con.execute(
            f"COPY (SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line, {cols} LIMIT 0) "
            f"TO {_q(staged_dir / 'part-0000.parquet')} (FORMAT parquet)"
        )
    con.execute(f"COPY staged_rejects TO {_q(staged_dir / 'rejects.parquet')} (FORMAT parquet)")
    shutil.rmtree(transcoded, ignore_errors=True)


def _write_part(
    con: duckdb.DuckDBPyConnection, query: str, staged_dir: Path, index: int, route: Callable[[str], str] | None
) -> None:
    """One file's records to ``staged_dir/part-NNNN.parquet``, or split by ``route``."""
    if route is None:
        con.execute(
            f"COPY ({query}) TO {_q(staged_dir / f'part-{index:04d}.parquet')} (FORMAT parquet, COMPRESSION zstd)"
        )
    else:
        _write_routed(con, route(query), staged_dir, index)


def _write_routed(con: duckdb.DuckDBPyConnection, query: str, staged_dir: Path, index: int) -> None:
    """One file's records, split by ``_province`` into ``staged_dir/<province>/part-NNNN-K.parquet``
    (DuckDB writes ``_province=<value>/`` folders; renamed, so no reader takes them for Hive partitions)."""
    written = staged_dir / f"_routing-{index:04d}"
    con.execute(f"COPY ({query}) TO {_q(written)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (_province))")
    for folder in sorted(written.glob("_province=*")):
        target = staged_dir / folder.name.split("=", 1)[1]
        target.mkdir(exist_ok=True)
        for k, part in enumerate(sorted(folder.glob("*.parquet"))):
            part.rename(target / f"part-{index:04d}-{k}.parquet")
    shutil.rmtree(written, ignore_errors=True)


def check_header(path: Path, names: list[str], columns: tuple[str, ...]) -> None:
    """The file's columns must be the contract's (a subset: optional columns may be absent), each once."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise BadInputFile(
            f"{path}: column {', '.join(repeated)} appears more than once in the header. Keep one "
            "column of each name and re-export."
        )
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise BadInputFile(
            f"{path}: column {', '.join(repr(n) for n in unknown)} is not in the contract for this table "
            f"(misspelled?). The columns are: {', '.join(columns)}. Rename the column and run again; nothing of this "
            "table was read."
        )


def relative_name(path: Path, root: Path) -> str:
    """A raw file's name as quarantine rows and metadata show it: relative to the data dir."""
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [h.strip() for h in next(csv.reader([fh.readline()]), [])]


def _header_columns(names: list[str]) -> str:
    return "{" + ", ".join("'" + n.replace("'", "''") + "': 'VARCHAR'" for n in names) + "}"


def count_records(path: Path) -> int:
    """Data records in a raw file, counted without DuckDB (the accounting identity's independent side):
    Parquet from its footer; CSV as non-blank records after the header (quoted newlines respected)."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    lines, last, simple = 0, b"\n", True
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            # quotes or blank lines need a real CSV reader; otherwise a record is a line
            if b'"' in chunk or b"\n\n" in chunk or b"\n\r\n" in chunk or (last == b"\n" and chunk[:1] in b"\r\n"):
                simple = False
                break
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if simple:
        return lines + (last != b"\n") - 1  # a last line without newline is a record; the header is not
    encoding = "utf-8-sig" if detect_encoding(path) == "utf-8" else "gb18030"
    with open(path, encoding=encoding, newline="") as fh:
        return sum(1 for row in csv.reader(fh) if row) - 1
