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
from dataclasses import dataclass
from pathlib import Path

import duckdb

CHUNK = 1 << 22


class UndecodableFileError(ValueError):
    pass


@dataclass(frozen=True)
class SourceFile:
    index: int
    path: Path
    kind: str  # csv | parquet
    encoding: str | None = None


def detect_encoding(path: Path) -> str:
    """'utf-8' (BOM or not) or 'gb18030'; raises UndecodableFileError naming the file otherwise."""
    for encoding in ("utf-8-sig", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            return "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    raise UndecodableFileError(
        f"{path}: neither UTF-8 nor GB18030; re-export the file in one of those encodings"
    )


def list_sources(folder: Path) -> list[SourceFile]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".parquet"))
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
) -> None:
    """Write every readable record to ``staged_dir/part-NNNN.parquet`` and structural rejects to
    ``staged_dir/rejects.parquet``; columns: source_file, source_line, then the contract's columns."""
    if staged_dir.exists():
        shutil.rmtree(staged_dir)
    staged_dir.mkdir(parents=True)
    transcoded = staged_dir / "_transcoded"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE staged_rejects (source_file VARCHAR, source_line BIGINT, csv_line VARCHAR)"
    )
    for src in sources:
        rel_name = str(src.path.relative_to(root)) if src.path.is_relative_to(root) else str(src.path)
        if src.kind == "parquet":
            present = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({_q(src.path)})").fetchall()}
            cells = ", ".join(
                f'CAST("{c}" AS VARCHAR) AS "{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in columns
            )
            query = (
                f"SELECT {_q(Path(rel_name))} AS source_file, file_row_number + 1 AS source_line, {cells} "
                f"FROM read_parquet({_q(src.path)}, file_row_number = true)"
            )
        else:
            path = src.path if src.encoding == "utf-8" else _transcode(src.path, transcoded / f"{src.index:04d}.csv")
            reader = (
                f"read_csv({_q(path)}, all_varchar = true, header = true, delim = ',', quote = '\"', "
                "strict_mode = true, ignore_errors = true, store_rejects = true, auto_detect = false, "
                f"columns = {_header_columns(path)})"
            )
            present = set(_header(path))
            cells = ", ".join(f'"{c}"' if c in present else f'NULL::VARCHAR AS "{c}"' for c in columns)
            # accepted records keep file order; their line is the n-th line not taken by a reject
            con.execute(f"CREATE OR REPLACE TEMP TABLE _file AS SELECT row_number() OVER () AS n, {cells} FROM {reader}")
            con.execute(
                "INSERT INTO staged_rejects SELECT DISTINCT ?, line, csv_line FROM reject_errors "
                "WHERE scan_id = (SELECT max(scan_id) FROM reject_scans)",
                [rel_name],
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
        con.execute(
            f"COPY ({query}) TO {_q(staged_dir / f'part-{src.index:04d}.parquet')} (FORMAT parquet, COMPRESSION zstd)"
        )
    con.execute(f"COPY staged_rejects TO {_q(staged_dir / 'rejects.parquet')} (FORMAT parquet)")
    shutil.rmtree(transcoded, ignore_errors=True)


def _header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [h.strip() for h in next(csv.reader([fh.readline()]), [])]


def _header_columns(path: Path) -> str:
    names = _header(path)
    return "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
