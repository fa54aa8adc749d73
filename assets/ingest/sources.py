"""Reading a raw table's folder: every CSV and Parquet file, in path order (staged as text by
:mod:`assets.ingest.staging`).

CSV files are UTF-8 (with or without BOM) or GB18030; anything else stops the run with the
file's name. GB18030 files are transcoded to UTF-8 (streaming) before DuckDB reads them.
Records with the wrong number of fields are kept aside (rule ``field_count:record``). Every
cell is kept as text exactly as read; typed Parquet values are turned to text by DuckDB's
casts (date -> YYYY-MM-DD, decimal -> plain notation).
"""

from __future__ import annotations

import codecs
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

from assets.storage import q

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
SNAPSHOT_FOLDER = "postgresql"  # raw/<table>/postgresql/<schema.table>.parquet: a database source's rows


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
    """A raw file's name as quarantine rows and metadata show it: relative to the data dir; a database
    source's snapshot (``raw/<table>/postgresql/<schema.table>.parquet``) as ``postgresql:<schema.table>``."""
    if not path.is_relative_to(root):
        return str(path)
    parts = path.relative_to(root).parts
    if len(parts) == 4 and parts[0] == "raw" and parts[2] == SNAPSHOT_FOLDER and path.suffix == ".parquet":
        return f"{SNAPSHOT_FOLDER}:{path.stem}"
    return str(path.relative_to(root))


def header(path: Path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [h.strip() for h in next(csv.reader([fh.readline()]), [])]


def header_columns(names: list[str]) -> str:
    """A CSV header's columns as DuckDB's ``read_csv(columns=…)``, every one text."""
    return "{" + ", ".join(f"{q(n)}: 'VARCHAR'" for n in names) + "}"


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
