"""A province's rows of the tables every province shares (a clean table not ingested by province, or a
summary of the contributions), cut once and kept for every report-month step of every run: each file
of the table is cut alone, so a new month's export is cut and the earlier files' cuts are read again.
各省共享表的本省切片，逐文件切分并保留。
"""

import json
import os
import threading
from pathlib import Path

import duckdb

from assets.province_scope import scoped_sql
from assets.resources import Warehouse
from assets.storage import matching, q, write_parquet
from assets.versions import code_digest, digest_of, profiles_digest


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
    cuts = []
    for path in files:
        key = digest_of(
            [code_digest(), profiles_digest(warehouse.profiles()), _identity(warehouse, path), holders[path]]
        )
        target = warehouse.scoped_path(name, province, key[:20])
        if not target.exists():
            # a name of this writer's own: two steps side by side (the multiprocess executor) may cut one file
            written = target.with_name(f"_{os.getpid()}_{threading.get_ident()}.parquet")
            write_parquet(con, scoped_sql(f"read_parquet({q(path)})", columns), written)
            written.replace(target)
        cuts.append(target)
    for stale in cuts[0].parent.glob("*.parquet"):
        if stale not in cuts and not stale.name.startswith("_"):
            stale.unlink(missing_ok=True)
    return cuts


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
    out, found = {}, {}
    for path in files:
        entry = f"{_identity(warehouse, path)} {units}"
        if entry not in known:
            found[entry] = str(
                con.execute(
                    f"SELECT coalesce(sum(hash(k.{key}, u.policy_id)), 0) FROM (SELECT DISTINCT {key} "
                    f"FROM read_parquet({q(path)})) k LEFT JOIN unit_province u ON u.{key} = k.{key}"
                ).fetchall()[0][0]
            )
        out[path] = found[entry] if entry in found else known[entry]
    if found:  # another step may write it too: a lost entry is only computed again
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f"_{os.getpid()}_{threading.get_ident()}.json")
        tmp.write_text(json.dumps({k: v for k, v in {**known, **found}.items() if k.endswith(units)}), encoding="utf-8")
        tmp.replace(cache)
    return out
