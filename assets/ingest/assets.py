"""Ingest assets: one per raw table of SPEC section 2 (入库与校验).

Each reads every CSV and Parquet file of ``raw/<table>/``, applies the row rules, writes the
accepted rows to ``warehouse/clean/<table>.parquet`` (typed: DECIMAL(18,2) money, DATE dates,
YYYY-MM periods), every rejected row to ``quarantine/<table>/`` with the rule it broke, and the
dropped exact duplicates to ``warehouse/duplicates/<table>.parquet``. Nothing is lost, nothing
silently fixed: rows read = accepted + quarantined + exact duplicates, checked on every run.

A table marked ``by_province`` in contracts.yaml (contributions) is ingested one province at a
time, each province a step of its own (:mod:`assets.ingest.shares` says which rows are whose), into
``warehouse/clean/<table>/<policy_id>.parquet`` and the like; read together they are the table.
"""

import hashlib
import json
import warnings
from contextlib import contextmanager

import dagster as dg

from assets.contracts import RAW_TABLES, RawTable, ingest_key
from assets.ingest import reuse
from assets.ingest.db_sources import refresh
from assets.ingest.engine import ingest_share, ingest_table
from assets.ingest.shares import Share, gather_shares, plan_shares
from assets.ingest.sources import IGNORED_NOTE, BadInputFile, raw_files, relative_name
from assets.partitions import latest_contribution_period, register_report_months
from assets.resources import Warehouse
from assets.versions import file_sha256
from assets.vocabulary import rule_text

# observable_source_asset and data versions on op outputs are beta in Dagster 1.13; lineage needs both
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def explain_rules(by_rule: dict[str, int], table: RawTable) -> str:
    """The quarantine counts as staff read them: rule, rows, what it means, how to fix (vocabulary.yaml)."""
    lines = ["| rule 规则 | rows 行数 | 说明 | 处理办法 |", "|---|---:|---|---|"]
    for rule, n in sorted(by_rule.items()):
        text = rule_text(rule, table.value_kinds())
        lines.append(f"| {rule} | {n:,} | {text.get('zh', '')} | {text.get('hint', '')} |")
    return "\n".join(lines) if by_rule else "nothing quarantined 无隔离记录"


def raw_listing(warehouse: Warehouse, table: str) -> tuple[list[dict], str]:
    """Each file of ``raw/<table>/`` with its size and SHA-256, and the digest of that list: the raw
    table's data version."""
    files = [
        {"file": relative_name(p, warehouse.root), "bytes": p.stat().st_size, "sha256": file_sha256(p)}
        for p in raw_files(warehouse.raw_dir(table))
    ]
    return files, hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]


def _build_raw_source(table: RawTable) -> dg.SourceAsset:
    """The bureau's export of a table as an observable source: observed at the start of every ingest
    run (ingest_job), before its ingest step, so the ingest records the version it read and the UI
    shows *Unsynced* exactly when a raw file changed."""

    @dg.observable_source_asset(
        key=raw_key(table.name),
        group_name="ingest",
        tags={"dagster/kind/csv": "", "dagster/kind/parquet": ""},  # kinds, as the decorator takes them
        description=f"{table.title}: the files under raw/{table.name}/ as the bureau exports them (CSV "
        f"UTF-8/GB18030 or Parquet); observed with each file's size and SHA-256. 原始导出文件。",
    )
    def _observe(context, warehouse: Warehouse) -> dg.ObserveResult:
        with _bad_input(context):  # a database source: what the server says changed (assets/ingest/db_sources.py)
            database = refresh(warehouse.root, table.name)
        files, version = raw_listing(warehouse, table.name)
        return dg.ObserveResult(
            data_version=dg.DataVersion(version),
            metadata={
                "files": dg.MetadataValue.json(files),
                "file_count": len(files),
                "bytes": sum(f["bytes"] for f in files),
                "data_version": version,
                **({"database_source": dg.MetadataValue.json(database)} if database else {}),
            },
        )

    return _observe


def _description(table: RawTable) -> str:
    split = (
        f" Ingested one province at a time: files under raw/{table.name}/<province_code>/ are that "
        "province's, other files' rows go to the province of their unit (按省拆分入库)."
        if table.by_province
        else ""
    )
    return (
        f"{table.title}: accepted rows of raw/{table.name}/ (CSV UTF-8/GB18030 and Parquet), typed; "
        f"rejected rows go to quarantine/{table.name}/ with the rule they broke.{split} "
        f"入库校验：合格记录入库，不合格记录连同违反的规则进入隔离区，不丢失、不擅改。"
    )


@contextmanager
def _bad_input(context):
    """A bad file stops the step with its message (which names the file and what to do), no traceback."""
    try:
        yield
    except BadInputFile as bad:
        context.log.error(str(bad))
        raise dg.Failure(description=str(bad), allow_retries=False) from None


def _report(context, warehouse: Warehouse, table: RawTable, counts: dict) -> dict:
    """Logs what ingest did and returns the materialization's metadata (the same whether one step
    or one step per province did it)."""
    if table.name == "contributions":  # the report months this data can report on become partitions
        added = register_report_months(context.instance, latest_contribution_period(warehouse.root))
        if added:
            context.log.info(f"report months {added[0]} to {added[-1]} added as partitions")
    if counts["missing_folder"]:
        context.log.warning(f"raw/{table.name}/ is missing: read as an empty table")
    if counts["ignored_files"]:
        context.log.warning(f"{table.name}: ignored files ({IGNORED_NOTE}): {', '.join(counts['ignored_files'])}")
    if counts.get("kept"):
        context.log.info(f"{table.name}: raw files, rules and settings unchanged since its last ingest: kept")
    context.log.info(
        f"{table.name}: read {counts['rows_read']:,} rows from {len(counts['files'])} files; accepted "
        f"{counts['accepted']:,}, quarantined {counts['quarantined']:,}, exact duplicates "
        f"{counts['exact_duplicates']:,}"
    )
    for name, warning in counts["warnings"].items():
        if warning["count"]:
            context.log.warning(f"{table.name}: {warning['count']} rows warn {name} (kept): {warning['examples'][:3]}")
    return {
        "rows_read": dg.MetadataValue.int(counts["rows_read"]),
        "accepted": dg.MetadataValue.int(counts["accepted"]),
        "quarantined": dg.MetadataValue.int(counts["quarantined"]),
        "exact_duplicates": dg.MetadataValue.int(counts["exact_duplicates"]),
        "dagster/row_count": dg.MetadataValue.int(counts["accepted"]),
        "quarantine_by_rule": dg.MetadataValue.json(counts["quarantine_by_rule"]),
        "quarantine_explained": dg.MetadataValue.md(explain_rules(counts["quarantine_by_rule"], table)),
        "files": dg.MetadataValue.json(counts["files"]),
        "ignored_files": dg.MetadataValue.json(counts["ignored_files"]),
        "missing_folder": dg.MetadataValue.bool(counts["missing_folder"]),
        "warnings": dg.MetadataValue.json(counts["warnings"]),
        "clean_path": dg.MetadataValue.path(str(warehouse.clean_path(table.name))),
        "quarantine_path": dg.MetadataValue.path(str(warehouse.quarantine_dir(table.name))),
        "preview": dg.MetadataValue.md(counts["preview"]),
    }


def _version(warehouse: Warehouse, table: RawTable) -> dg.DataVersion:
    """The ingest's data version: the digest of what its accepted rows are a function of (raw files,
    code, profiles, settings, units; assets/ingest/reuse.py), so an ingest that changed nothing keeps its
    version and what reads it is not shown *Unsynced*."""
    return dg.DataVersion(reuse.recorded_digest(warehouse, table.name)[:32])


def _build_asset(table: RawTable) -> dg.AssetsDefinition:
    if table.by_province:
        return _build_province_asset(table)

    @dg.asset(
        key=ingest_key(table.name),
        group_name="ingest",
        kinds={"duckdb", "parquet"},
        deps=[raw_key(table.name), *([ingest_key("units")] if table.references_unit else [])],
        description=_description(table),
        owners=["team:data-engineering"],
        tags={"layer": "ingest"},
    )
    def _ingest(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with _bad_input(context), warehouse.connect() as con:
            counts = ingest_table(con, warehouse, table)
        return dg.MaterializeResult(
            metadata=_report(context, warehouse, table, counts), data_version=_version(warehouse, table)
        )

    return _ingest


def _build_province_asset(table: RawTable) -> dg.AssetsDefinition:
    """A table ingested by province: a graph of a planning step, one step per province (which an
    executor such as Celery runs side by side) and a step that gathers their counts."""
    upstream = {"raw": dg.In(dg.Nothing), "units": dg.In(dg.Nothing)}

    @dg.op(name="plan", ins=upstream, out=dg.DynamicOut(Share), tags={"layer": "ingest"})
    def plan(context: dg.OpExecutionContext, warehouse: Warehouse):
        """Stages the shared files once; one output per province."""
        with _bad_input(context), warehouse.connect() as con:
            shares = plan_shares(con, warehouse, table)
        for share in shares:
            yield dg.DynamicOutput(share, mapping_key=share.province.replace("-", "_"))

    @dg.op(name="province", tags={"layer": "ingest"})
    def province(context: dg.OpExecutionContext, warehouse: Warehouse, share: Share) -> dict:
        """One province's rows: staged, judged, written to its own clean, quarantine and duplicates files."""
        with _bad_input(context), warehouse.connect() as con:
            counts = ingest_share(con, warehouse, share)
        context.log.info(
            f"{table.name} {share.province}: accepted {counts['accepted']:,}, quarantined "
            f"{counts['quarantined']:,}, exact duplicates {counts['exact_duplicates']:,}"
        )
        return counts

    @dg.op(name="gather", out=dg.Out(dg.Nothing), tags={"layer": "ingest"})
    def gather(context: dg.OpExecutionContext, warehouse: Warehouse, parts: list[dict]):
        """The table's counts, validation record and metadata, as one step would have reported them."""
        with warehouse.connect() as con:
            counts = gather_shares(con, warehouse, table, parts)
        yield dg.Output(
            None, metadata=_report(context, warehouse, table, counts), data_version=_version(warehouse, table)
        )

    @dg.graph_asset(
        key=ingest_key(table.name),
        group_name="ingest",
        kinds={"duckdb", "parquet"},
        ins={
            "raw": dg.AssetIn(key=raw_key(table.name), dagster_type=dg.Nothing),
            "units": dg.AssetIn(key=ingest_key("units"), dagster_type=dg.Nothing),
        },
        description=_description(table),
        owners=["team:data-engineering"],
        tags={"layer": "ingest"},
    )
    def _ingest(raw, units):
        return gather(plan(raw=raw, units=units).map(province).collect())

    return _ingest


# The bureaus' exports, observed before ingest, so lineage starts at the raw files.
raw_specs = [_build_raw_source(t) for t in RAW_TABLES.values()]
ingest_assets = [_build_asset(t) for t in RAW_TABLES.values()]
