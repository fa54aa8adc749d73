"""Ingest keeps what is still valid: a table whose raw files (each by path, size and SHA-256), rules,
profiles and settings are those of its last ingest (and, for a table that references units, whose
units are) is not read again; its clean, quarantine and duplicates files stay, and the step reports
the counts it recorded. ``deferral run --full`` ingests every table again.
入库复用：原始文件、规则与配置均未变化的表不再重读。

The record is ``warehouse/ingest/<table>.json`` (a table ingested by province: one per province
too, ``warehouse/ingest/<table>/<policy_id>.json``): the digest and the step's counts.
"""

import json
from pathlib import Path

from assets.contracts import RawTable
from assets.ingest.sources import raw_files, relative_name
from assets.resources import Warehouse
from assets.versions import code_digest, digest_of, file_sha256, profiles_digest


def table_digest(warehouse: Warehouse, table: RawTable) -> str:
    """What a table's ingest result depends on."""
    settings = warehouse.settings
    parts = [
        code_digest(),
        profiles_digest(warehouse.profiles()),
        f"gx {settings.gx_sample_rows} {settings.gx_batch_rows} {settings.gx_data_docs} {warehouse.full_validation}",
    ]
    parts += [
        f"{relative_name(p, warehouse.root)} {p.stat().st_size} {file_sha256(p)}"
        for p in raw_files(warehouse.raw_dir(table.name))
    ]
    if table.references_unit:
        parts.append(f"units {warehouse.ingest_digest('units')}")
    return digest_of(parts)


def unchanged(warehouse: Warehouse, table: RawTable, digest: str) -> bool:
    """Whether the table's last ingest had these inputs and its outputs are all still there."""
    return (
        not warehouse.recompute_all
        and warehouse.ingest_digest(table.name) == digest
        and warehouse.has_clean(table.name)
        and warehouse.validation_path(table.name).exists()
    )


def save(warehouse: Warehouse, table: str, province: str | None, digest: str, counts: dict) -> None:
    path = warehouse.ingest_record_path(table, province)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"digest": digest, "counts": counts}, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def forget(warehouse: Warehouse, table: str) -> None:
    """Before a table is ingested again: its record goes first, so a step that dies midway is redone."""
    warehouse.ingest_record_path(table).unlink(missing_ok=True)


def recorded_digest(warehouse: Warehouse, table: str) -> str:
    """The digest the table's last ingest recorded: what its accepted rows are a function of."""
    return json.loads(warehouse.ingest_record_path(table).read_text(encoding="utf-8"))["digest"]


def recorded_counts(warehouse: Warehouse, table: str, province: str | None = None) -> dict:
    return json.loads(warehouse.ingest_record_path(table, province).read_text(encoding="utf-8"))["counts"]


def file_keys(warehouse: Warehouse, table: RawTable, paths: list[Path], routed: bool = False) -> dict[Path, str]:
    """Each raw file's key: what its staged rows are a function of. The file (path, size and SHA-256)
    and the code; for a shared file split by province (``routed``) also the profiles, whose regions
    route its rows (the units that route them are checked file by file: assets/ingest/shares.py). A
    file staged under its key is not read again (assets/ingest/staging.py)."""
    common = [code_digest(), table.name]
    if routed:
        common.append(profiles_digest(warehouse.profiles()))
    return {
        p: digest_of([*common, relative_name(p, warehouse.root), str(p.stat().st_size), file_sha256(p)])[:20]
        for p in paths
    }


def judged_key(warehouse: Warehouse, table: RawTable, province: str | None, staged_name: str) -> str:
    """The key of one input's verdicts (``judged-<key>.parquet``): its staged rows (``staged_name``, the
    staged part or a Parquet file's own key), the code, the profiles (their regions) and the province
    whose step judges it. Which of its units are accepted is checked input by input (engine.py)."""
    return digest_of([code_digest(), profiles_digest(warehouse.profiles()), table.name, province or "", staged_name])[
        :20
    ]
