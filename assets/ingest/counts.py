"""What an ingest step reports besides the rows it writes: rejections per rule, the warnings
(reported, never a rejection), the files it read, the raw records counted from the files themselves,
and the whole table's summary (rows read, folder state, a preview without person ids).
入库统计：按规则的隔离行数、提示、读取的文件与原始记录数。
"""

import json
import os
import threading
from pathlib import Path

from assets.contracts import RawTable
from assets.identifiers import PREFIX_UNIT_TYPES, register_person_key
from assets.ingest.check_memo import failing
from assets.ingest.sources import count_records, ignored_files, raw_files, relative_name
from assets.resources import Warehouse
from assets.storage import exact_preview, ident, q, write_parquet
from assets.versions import file_sha256


def warnings(con, warehouse: Warehouse, table: RawTable, clean_files: list[Path], kept_in: Path) -> dict:
    """GB 11714 inner check and unit_type-against-prefix: reported, never a rejection. Each accepted-row
    file's flagged values are kept in ``kept_in`` (the share's staged folder) by the file's name, size
    and time: a run that adds an export looks at its rows only."""
    checks = [f"uscc_inner_check:{c}" for c in table.uscc_columns] + (
        ["unit_type_prefix"] if "unit_type" in table.columns else []
    )
    if not checks:
        return {}
    flagged = []
    for path in clean_files:
        stat = path.stat()
        kept = kept_in / f"warnings-{path.stem}-{stat.st_size}-{stat.st_mtime_ns}.parquet"
        if not kept.exists():
            write_parquet(con, _flagged(con, warehouse, table, path), kept)
        flagged.append(kept)
    for stale in set(kept_in.glob("warnings-*.parquet")) - set(flagged):
        stale.unlink()
    out: dict = {}
    every = f"read_parquet([{', '.join(q(p) for p in flagged)}])" if flagged else None
    for check in checks:
        # a value flagged in two files is one value; a unit's row is in one file only (its key is unique)
        rows = (
            con.execute(
                f"SELECT DISTINCT shown, sort_key FROM {every} WHERE check_name = {q(check)} ORDER BY sort_key, shown"
            ).fetchall()
            if every
            else []
        )
        out[check] = {"count": len(rows), "examples": [r[0] for r in rows[:10]]}
    return out


def _flagged(con, warehouse: Warehouse, table: RawTable, path: Path) -> str:
    """The query of one accepted-row file's flagged values: check_name, shown (the example as listed)
    and sort_key (the order examples are listed in)."""
    parts = ["SELECT NULL::VARCHAR AS check_name, NULL::VARCHAR AS shown, NULL::VARCHAR AS sort_key WHERE false"]
    for col in table.uscc_columns:
        # distinct values materialized first, so the Python UDF runs once a value, not once a row
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE distinct_clean_{col} AS SELECT DISTINCT {ident(col)} AS v "
            f"FROM read_parquet({q(path)})"
        )
        # each value's check once across runs and tables (assets/ingest/check_memo.py)
        failing(con, warehouse, "uscc_inner_check_ok", f"distinct_clean_{col}", f"inner_bad_{col}")
        parts.append(f"SELECT {q('uscc_inner_check:' + col)}, v, v FROM inner_bad_{col}")
    if "unit_type" in table.columns:
        cases = " OR ".join(
            f"(left(uscc, 2) = {q(prefix)} AND unit_type NOT IN ({', '.join(q(t) for t in sorted(types))}))"
            for prefix, types in PREFIX_UNIT_TYPES.items()
        )
        parts.append(
            f"SELECT 'unit_type_prefix', concat_ws(' ', unit_id, uscc, unit_type), unit_id "
            f"FROM read_parquet({q(path)}) WHERE {cases}"
        )
    return " UNION ALL ".join(parts)


def quarantine_by_rule(con, path: Path) -> dict[str, int]:
    """Quarantined rows per rule in ``path`` (a file or glob; a row breaking several rules counts under each)."""
    rows = con.execute(
        f"SELECT r, count(*) FROM (SELECT unnest(string_split(rule, ';')) AS r FROM read_parquet("
        f"{q(path)})) GROUP BY r ORDER BY r"
    ).fetchall()
    return dict(rows)


def records_in_files(warehouse: Warehouse, table: str) -> int:
    """Records in the raw files, counted without the DuckDB reader (assets/ingest/sources.py). Each
    file's count is kept by its SHA-256 (``Warehouse.record_counts_path``): the same bytes are counted
    once, not by every run and every check (a month's new export is counted; the months before it are
    not read again). ``--full`` counts every file again."""
    path = warehouse.record_counts_path()
    known = {} if warehouse.recompute_all or not path.exists() else json.loads(path.read_text(encoding="utf-8"))
    total, new = 0, {}
    for file in raw_files(warehouse.raw_dir(table)):
        sha = file_sha256(file)
        if sha not in known:
            known[sha] = new[sha] = count_records(file)
        total += known[sha]
    if new:  # other tables' steps may write it too: a lost entry is only counted again
        path.parent.mkdir(parents=True, exist_ok=True)
        latest = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({**latest, **new}, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
    return total


def listing(warehouse: Warehouse, sources: list) -> list[dict]:
    """The files an ingest step read, as its metadata lists them."""
    return [
        {"file": relative_name(s.path, warehouse.root), "kind": s.kind, "encoding": s.encoding or "parquet"}
        for s in sources
    ]


def table_summary(con, warehouse: Warehouse, table: RawTable, counts: dict) -> dict:
    """What the whole table's step reports besides its counts: rows read, folder state, a preview."""
    raw_dir = warehouse.raw_dir(table.name)
    counts["rows_read"] = records_in_files(warehouse, table.name)
    counts["ignored_files"] = (
        [relative_name(p, warehouse.root) for p in ignored_files(raw_dir)] if raw_dir.is_dir() else []
    )
    counts["missing_folder"] = not raw_dir.is_dir()
    # previews are stored in Dagster's event log and served to every UI user: persons only as person_key
    register_person_key(con, warehouse.pii_key)
    shown = ", ".join(
        f"person_key({ident(c)}) AS {ident(c + '_key')}" if c in table.person_columns else ident(c)
        for c in table.columns
    )
    counts["preview"] = exact_preview(
        con, f"SELECT {shown} FROM read_parquet({q(warehouse.clean_path(table.name))})", limit=5
    )
    return counts
