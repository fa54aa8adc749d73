"""How a table ingested by province is split into steps (contracts.yaml ``by_province``).

A file under ``raw/<table>/<province_code>/`` belongs to the profile with that province code; every
other file is *shared*: it is staged once and its rows are split once by the province of their unit
(``ingest_split.sql``), so each province's step reads its own rows only, never another province's.
A row's key includes its unit, so duplicates and conflicting rows always meet in one province's
step, and a flat folder gives the same accepted rows as one step over the table.
按省拆分入库：raw/<表>/<省代码>/ 下的文件归该省；其余文件按单位所属省份分配。
"""

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from assets.contracts import RawTable
from assets.ingest import reuse
from assets.ingest import rules as R
from assets.ingest.counts import listing, quarantine_by_rule, table_summary
from assets.ingest.db_sources import refresh
from assets.ingest.gx_records import merge_outcomes, write_docs_index, write_results
from assets.ingest.sources import BadInputFile, list_sources, raw_files
from assets.ingest.staging import parquet_records, stage_table
from assets.profiles import PolicyProfile
from assets.resources import Warehouse
from assets.storage import q, scalar, sql_statements, write_parquet

SQL_DIR = Path(__file__).parent
# Without these there is nothing to compute: a missing folder stops the run with a message.
REQUIRED_TABLES = ("units", "contributions")

# the staged folder of the files no single province owns
SHARED = "_shared"


@dataclass(frozen=True)
class Share:
    """One ingest step of a table: the whole table (``province`` None) or one province's rows."""

    table: str
    province: str | None  # policy_id
    files: tuple[Path, ...]  # the raw files this step stages and reads itself
    shared_parts: tuple[Path, ...] = ()  # its rows of the shared files, split out by the planning step
    direct_files: tuple[Path, ...] = ()  # shared Parquet files holding its rows only: read in place, not split
    takes_orphans: bool = False  # the first province: shared rows whose unit is nobody's, shared files' broken lines
    regions: tuple[str, ...] = ()  # the province's pooling regions: its units are those with one of these
    listed: tuple[dict, ...] = field(default=())  # files reported by this step besides its own (the shared ones)
    digest: str = ""  # what the table's ingest depends on (assets/ingest/reuse.py)
    reuse: bool = False  # unchanged since the last ingest: its results and counts are kept


def route_files(
    files: list[Path], raw_dir: Path, profiles: list[PolicyProfile]
) -> tuple[dict[str, list[Path]], list[Path]]:
    """The files of each province's own folder (policy_id -> files), and the shared files: those not
    under a folder named by a province code, or under a code more than one profile has."""
    by_code: dict[str, list[str]] = {}
    for profile in profiles:
        by_code.setdefault(profile.province_code, []).append(profile.policy_id)
    own: dict[str, list[Path]] = {}
    shared: list[Path] = []
    for path in files:
        parts = path.relative_to(raw_dir).parts
        owners = by_code.get(parts[0], []) if len(parts) > 1 else []
        if len(owners) == 1:
            own.setdefault(owners[0], []).append(path)
        else:
            shared.append(path)
    return own, shared


def plan_shares(con, warehouse: Warehouse, table: RawTable) -> list[Share]:
    """The ingest steps of a table. A whole table is one. A table ingested by province has one per
    profile; the files no single province owns are staged here, once, for every province's step to
    read its rows from; and what an earlier run wrote for provinces since removed is cleared."""
    raw_dir = warehouse.raw_dir(table.name)
    refresh(warehouse.root, table.name)  # a database source's snapshot, current (kept when unchanged)
    if not raw_dir.is_dir() and table.name in REQUIRED_TABLES:
        raise BadInputFile(
            f"{raw_dir} is missing: place the bureau's export of {table.title} there (CSV or Parquet "
            "files with the contract's header) and run again."
        )
    digest = reuse.table_digest(warehouse, table)
    kept = reuse.unchanged(warehouse, table, digest)
    if not kept:
        reuse.forget(warehouse, table.name)
    if warehouse.recompute_all:  # --full: nothing staged or judged before is kept either
        shutil.rmtree(warehouse.staged_dir(table.name), ignore_errors=True)
    if not table.by_province:
        return [Share(table.name, None, tuple(raw_files(raw_dir)), digest=digest, reuse=kept)]
    profiles = warehouse.profiles()
    if kept:
        return [Share(table.name, p.policy_id, (), digest=digest, reuse=True) for p in profiles]
    own, shared = route_files(raw_files(raw_dir), raw_dir, profiles)
    shared_sources = list_sources(shared)
    staged_shared = warehouse.staged_dir(table.name, SHARED)
    route = _router(con, warehouse, profiles)
    sole = {s.path: _sole_province(con, warehouse, table, s, route) for s in shared_sources}
    direct = {p.policy_id: tuple(path for path, owner in sole.items() if owner == p.policy_id) for p in profiles}
    split = [s for s in shared_sources if sole[s.path] is None]
    keys = reuse.file_keys(warehouse, table, [s.path for s in split], routed=True)
    _forget_rerouted(con, staged_shared, list(keys.values()), profiles[0].policy_id)
    stage_table(
        con,
        split,
        table.columns,
        staged_shared,
        warehouse.root,
        route=route,
        keep_typed=lambda types: R.typed_in_source(table, types),
        keys=keys,
    )
    _record_routes(con, staged_shared, list(keys.values()))
    # a province's accepted rows are kept input by input (assets/ingest/resolve.py): what is cleared is the
    # folders of provinces no profile has now
    clean = warehouse.clean_path(table.name).parent.parent
    for stale in clean.glob("*") if clean.is_dir() else []:
        if stale.name not in {p.policy_id for p in profiles}:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    for pattern in (
        warehouse.duplicates_path(table.name),  # every province's
        warehouse.quarantine_path(table.name, "*"),
        warehouse.validation_path(table.name, "*"),
    ):
        for stale in pattern.parent.glob(pattern.name):
            stale.unlink()
    return [
        Share(
            table.name,
            p.policy_id,
            tuple(own.get(p.policy_id, [])),
            shared_parts=tuple(sorted((staged_shared / p.policy_id).glob("*.parquet"))),
            direct_files=direct[p.policy_id],
            takes_orphans=i == 0,
            regions=p.regions,
            listed=listing(warehouse, shared_sources) if i == 0 else (),
            digest=digest,
        )
        for i, p in enumerate(profiles)
    ]


def _router(con, warehouse: Warehouse, profiles: list) -> Callable[[str], str]:
    """How a shared file's records are split by province while staged (``ingest_split.sql``)."""
    region_province = ", ".join(f"({q(r)}, {q(p.policy_id)})" for p in profiles for r in p.regions)
    params = dict(
        units=q(warehouse.clean_path("units")),
        region_province=region_province or "(NULL, NULL)",
        orphans_to=q(profiles[0].policy_id),
        cleaned_unit_id=R.cleaned_cell("unit_id"),
    )
    owner, _ = sql_statements(SQL_DIR / "ingest_split.sql", staged="SELECT NULL AS unit_id", **params)
    con.execute(owner)
    return lambda query: sql_statements(SQL_DIR / "ingest_split.sql", staged=query, **params)[1]


def _forget_rerouted(con, staged_shared: Path, keys: list[str], orphans_to: str) -> None:
    """A shared file staged before is split again when a unit of its rows now goes to another province
    (a unit accepted, removed or moved since): its routes (``routes-<key>.parquet``, each unit id of its
    rows and the province it went to) are compared with the units now (``unit_owner``)."""
    for key in keys:
        staged, routes = staged_shared / f"rejects-{key}.parquet", staged_shared / f"routes-{key}.parquet"
        if not staged.exists():
            continue
        moved = not routes.exists() or scalar(
            con,
            f"SELECT count(*) FROM read_parquet({q(routes)}) r LEFT JOIN unit_owner o ON o.owner_unit = r.unit_id "
            f"WHERE coalesce(o.policy_id, {q(orphans_to)}) <> r._province",
        )
        if moved:  # its parts are written again (assets/ingest/staging.py), and its routes
            staged.unlink()
            routes.unlink(missing_ok=True)


def _record_routes(con, staged_shared: Path, keys: list[str]) -> None:
    """Each shared file's routes as split: every (cleaned) unit id of its rows and its province."""
    for key in keys:
        routes = staged_shared / f"routes-{key}.parquet"
        if routes.exists():
            continue
        parts = sorted(staged_shared.glob(f"*/part-{key}-*.parquet"))
        rows = " UNION ALL ".join(
            f"SELECT DISTINCT {R.cleaned_cell('unit_id')} AS unit_id, {q(part.parent.name)} AS _province "
            f"FROM read_parquet({q(part)})"
            for part in parts
        )
        write_parquet(con, rows or "SELECT NULL::VARCHAR AS unit_id, NULL::VARCHAR AS _province LIMIT 0", routes)


def _sole_province(con, warehouse: Warehouse, table: RawTable, source, route: Callable[[str], str]) -> str | None:
    """The one province every record of a shared Parquet file goes to (its rows are then read in place
    by that province's step: one read of the unit column here instead of a second copy of the file),
    or None: a CSV file, or records of several provinces (split while staged)."""
    if source.kind != "parquet":
        return None
    owners = con.execute(
        f"SELECT DISTINCT _province FROM ({route(parquet_records(con, source.path, table.columns, warehouse.root))}) "
        "LIMIT 2"
    ).fetchall()
    return owners[0][0] if len(owners) == 1 else None


def gather_shares(con, warehouse: Warehouse, table: RawTable, parts: list[dict]) -> dict:
    """The provinces' counts summed into the table's, as one step would have reported them; the
    table's validation record merged (``warehouse/validation/<table>.json``); a table kept whole
    (every province unchanged) reports what it recorded."""
    if all(p.get("kept") for p in parts):
        return {**reuse.recorded_counts(warehouse, table.name), "kept": True}
    counts = {key: sum(p[key] for p in parts) for key in ("accepted", "quarantined", "exact_duplicates")}
    counts["quarantine_by_rule"] = quarantine_by_rule(con, warehouse.quarantine_path(table.name, "*"))
    validations = [p["validation"] for p in parts]
    counts["validation"] = write_results(
        warehouse.validation_path(table.name),
        table,
        merge_outcomes(validations),
        counts["quarantine_by_rule"],
        counts["quarantined"],
    )
    counts["files"] = sorted((f for p in parts for f in p["files"]), key=lambda f: f["file"])
    if warehouse.settings.gx_data_docs:
        write_docs_index(warehouse.docs_dir())  # the provinces' steps may have raced on it
    counts["warnings"] = {}
    for p in parts:
        for name, w in p["warnings"].items():
            merged = counts["warnings"].setdefault(name, {"count": 0, "examples": []})
            merged["count"] += w["count"]
            merged["examples"] = (merged["examples"] + w["examples"])[:10]
    counts = table_summary(con, warehouse, table, counts)
    reuse.save(warehouse, table.name, None, parts[0]["digest"], counts)
    return counts
