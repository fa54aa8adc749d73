"""A province's rows of the tables every province shares (a clean table not ingested by province, or a
summary of the contributions), cut once and kept for every report-month step of every run: each file
of the table is cut alone, so a new month's export is cut and the earlier files' cuts are read again.
各省共享表的本省切片，逐文件切分并保留。
"""

import json
import os
import shutil
import threading
from pathlib import Path

import duckdb

from assets.province_scope import scoped_sql
from assets.resources import Warehouse
from assets.storage import PARQUET_OPTIONS, distribute, ident, matching, q, write_parquet
from assets.versions import code_digest, digest_of, profiles_digest

# shared files at most this large (Parquet bytes) are cut together, each to its own file
SMALL_FILE_BYTES = 16 * 2**20


def province_rows(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str, source: Path, province: str) -> str:
    """The province's rows of ``source`` (a table every province shares: a clean table, or a summary of
    the contributions), as a relation: its cuts (:func:`province_cuts`)."""
    cuts = province_cuts(con, warehouse, name, source, province)
    return f"read_parquet([{', '.join(q(c) for c in cuts)}])" if cuts else f"read_parquet({q(source)})"


def province_cuts(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, name: str, source: Path, province: str
) -> list[Path]:
    """The province's rows of ``source``, cut file by file, each file once for each version of it, of the
    provinces of the units it names and of the code and profiles, and kept
    (``warehouse/scoped/<name>/<province>/<key>.parquet``) for every report-month step of every run:
    tax payments are 10 million rows at province scale, and a new month's export is cut alone. Needs
    ``create_scope`` for ``province`` on ``con``; no files: none."""
    files = matching(source)
    if not files:
        return []
    columns = con.sql(f"SELECT * FROM read_parquet({q(source)}) LIMIT 0").columns
    holders = _holders(con, warehouse, name, files, columns)
    fixed = [code_digest(), profiles_digest(warehouse.profiles())]
    cuts = {
        path: warehouse.scoped_path(name, province, digest_of([*fixed, _identity(warehouse, path), holders[path]])[:20])
        for path in files
    }
    _cut(con, [(path, target) for path, target in cuts.items() if not target.exists()], columns)
    for stale in next(iter(cuts.values())).parent.glob("*.parquet"):
        if stale not in cuts.values() and not stale.name.startswith("_"):
            stale.unlink(missing_ok=True)
    return list(cuts.values())


def _cut(con, todo: list[tuple[Path, Path]], columns: list[str]) -> None:
    """Each (file, target) of ``todo``: the province's rows of the file to the target. The small files in
    one statement (partitioned by file, each partition renamed to its target): a month's run cuts a file
    of each shared table, and a statement a file cost its planning and write each time (a province's
    new month: 108 cuts, 2.8 s). Work files are named for their writer: two steps side by side (the
    multiprocess executor) may cut one file, and each target appears whole."""
    own = f"_{os.getpid()}_{threading.get_ident()}"
    small = [item for item in todo if item[0].stat().st_size <= SMALL_FILE_BYTES]
    alone = [item for item in todo if item not in small] + (small if len(small) == 1 else [])
    if len(small) > 1:
        work = small[0][1].parent / f"{own}_cutting"
        work.parent.mkdir(parents=True, exist_ok=True)
        numbered = " ".join(f"WHEN {q(path)} THEN {n}" for n, (path, _) in enumerate(small))
        rows = scoped_sql(
            f"read_parquet([{', '.join(q(p) for p, _ in small)}], filename = true)", [*columns, "filename"]
        )
        con.execute(
            f"COPY (SELECT CASE filename {numbered} END AS _input, {', '.join(ident(c) for c in columns)} "
            f"FROM ({rows})) TO {q(work)} ({PARQUET_OPTIONS}, PARTITION_BY (_input), OVERWRITE true)"
        )
        # a file without rows of the province has no partition: its cut is the empty table, written once
        empty = [small[n][1] for n in range(len(small)) if not (work / f"_input={n}").exists()]
        alone += [small[n] for n in distribute(work, [target for _, target in small]) if small[n][1] not in empty]
        if empty:
            none = empty[0].with_name(f"{own}.parquet")
            write_parquet(con, f"SELECT * FROM read_parquet({q(small[0][0])}) LIMIT 0", none)
            for target in empty:
                shutil.copyfile(none, none.with_suffix(".copy"))
                none.with_suffix(".copy").replace(target)
            none.unlink()
    for path, target in alone:
        written = target.with_name(f"{own}.parquet")
        write_parquet(con, scoped_sql(f"read_parquet({q(path)})", columns), written)
        written.replace(target)


def _identity(warehouse: Warehouse, path: Path) -> str:
    stat = path.stat()
    return f"{path.relative_to(warehouse.root)} {stat.st_size} {stat.st_mtime_ns}"


def _holders(con, warehouse: Warehouse, name: str, files: list[Path], columns: list[str]) -> dict[Path, str]:
    """Per file, a digest of the provinces of the units its rows name (by unit_id, or the holder of each
    uscc: ``unit_province``, which ``create_scope`` made), which is all a file's cut depends on besides the
    file and the profiles; kept per file and version of the units (``warehouse/scoped/<name>/holders.json``),
    so a new month's units do not make every earlier file's cut again unless they hold its keys."""
    key = "unit_id" if "unit_id" in columns else "uscc" if "uscc" in columns else None
    if "region_code" in columns or key is None:
        return {path: "" for path in files}
    units = digest_of(
        [profiles_digest(warehouse.profiles())] + [_identity(warehouse, u) for u in warehouse.clean_files("units")]
    )
    cache = warehouse.root / "warehouse" / "scoped" / name / "holders.json"
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    todo = [path for path in files if f"{_identity(warehouse, path)} {units}" not in known]
    # one statement for the files not known (a new units export: every file), each file's keys apart
    sums = dict(
        con.execute(
            f"SELECT k.filename, coalesce(sum(hash(k.{key}, u.policy_id)), 0) FROM (SELECT DISTINCT filename, {key} "
            f"FROM read_parquet([{', '.join(q(p) for p in todo)}], filename = true)) k "
            f"LEFT JOIN unit_province u ON u.{key} = k.{key} GROUP BY k.filename"
        ).fetchall()
        if todo
        else []
    )
    found = {f"{_identity(warehouse, path)} {units}": str(sums.get(str(path), 0)) for path in todo}
    out = {
        path: found.get(entry, known.get(entry))
        for path in files
        for entry in [f"{_identity(warehouse, path)} {units}"]
    }
    if found:  # another step may write it too: a lost entry is only computed again
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"_{os.getpid()}_{threading.get_ident()}.json")
        tmp.write_text(json.dumps({k: v for k, v in {**known, **found}.items() if k.endswith(units)}), encoding="utf-8")
        tmp.replace(cache)
    return out
