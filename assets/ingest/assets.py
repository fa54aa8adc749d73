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
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import dagster as dg

from assets.contracts import RAW_TABLES, RawTable, ingest_key
from assets.identifiers import PREFIX_UNIT_TYPES, register_person_key, register_udfs
from assets.ingest import rules as R
from assets.ingest.sources import IGNORED_NOTE, BadInputFile, count_records, ignored_files, list_sources, raw_files, relative_name, stage_table
from assets.ingest.gx_runner import merge_outcomes, validate_rows, write_docs_index, write_results
from assets.ingest.shares import SHARED, Share, route_files
from assets.vocabulary import hint_sql, rule_texts
from assets.storage import exact_preview, q, scalar, sql_statements, write_parquet
from assets.partitions import latest_contribution_period, register_report_months
from assets.resources import Warehouse

SQL_DIR = Path(__file__).parent
# Without these there is nothing to compute: a missing folder stops the run with a message.
REQUIRED_TABLES = ("units", "contributions")


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _warnings(con, table: RawTable) -> dict:
    """GB 11714 inner check and unit_type-against-prefix: reported, never a rejection."""
    out: dict = {}
    for col in table.uscc_columns:
        # distinct values materialized first, so the Python UDF runs once a value, not once a row
        con.execute(f"CREATE OR REPLACE TEMP TABLE distinct_clean_{col} AS SELECT DISTINCT {R.ident(col)} AS v FROM clean")
        rows = con.execute(f"SELECT v FROM distinct_clean_{col} WHERE NOT uscc_inner_check_ok(v) ORDER BY 1").fetchall()
        out[f"uscc_inner_check:{col}"] = {"count": len(rows), "examples": [r[0] for r in rows[:10]]}
    if "unit_type" in table.columns:
        cases = " OR ".join(
            f"(left(uscc, 2) = {R.literal(prefix)} AND unit_type NOT IN ({', '.join(R.literal(t) for t in sorted(types))}))"
            for prefix, types in PREFIX_UNIT_TYPES.items()
        )
        rows = con.execute(f"SELECT unit_id, uscc, unit_type FROM clean WHERE {cases} ORDER BY 1").fetchall()
        out["unit_type_prefix"] = {"count": len(rows), "examples": [f"{u} {c} {t}" for u, c, t in rows[:10]]}
    return out


def quarantine_by_rule(con, path: Path) -> dict[str, int]:
    """Quarantined rows per rule in ``path`` (a file or glob; a row breaking several rules counts under each)."""
    rows = con.execute(
        f"SELECT r, count(*) FROM (SELECT unnest(string_split(rule, ';')) AS r FROM read_parquet("
        f"{q(path)})) GROUP BY r ORDER BY r").fetchall()
    return dict(rows)


def explain_rules(by_rule: dict[str, int]) -> str:
    """The quarantine counts as staff read them: rule, rows, what it means, how to fix (vocabulary.yaml)."""
    lines = ["| rule 规则 | rows 行数 | 说明 | 处理办法 |", "|---|---:|---|---|"]
    for rule, n in sorted(by_rule.items()):
        text = rule_texts().get(rule.split(":")[0], {})
        lines.append(f"| {rule} | {n:,} | {text.get('zh', '')} | {text.get('hint', '')} |")
    return "\n".join(lines) if by_rule else "nothing quarantined 无隔离记录"


def validation_results_path(warehouse: Warehouse, table: str, province: str | None = None) -> Path:
    """``warehouse/validation/<table>.json`` (for a table ingested by province, the merge of each
    province's ``warehouse/validation/<table>/<province>.json``)."""
    folder = warehouse.root / "warehouse" / "validation"
    return folder / table / f"{province}.json" if province else folder / f"{table}.json"


def records_in_files(warehouse: Warehouse, table: str) -> int:
    """Records in the raw files, counted without the DuckDB reader (assets/ingest/sources.py)."""
    return sum(count_records(p) for p in raw_files(warehouse.raw_dir(table)))


def ingest_table(con, warehouse: Warehouse, table: RawTable) -> dict:
    """Runs the whole ingest of one table on a DuckDB connection, in this process; returns its counts
    (a table ingested by province: every province's step one after the other, then their sum)."""
    shares = plan_shares(con, warehouse, table)
    if not table.by_province:
        return ingest_share(con, warehouse, shares[0])
    return gather_shares(con, warehouse, table, [ingest_share(con, warehouse, s) for s in shares])


def ingest_share(con, warehouse: Warehouse, share: Share) -> dict:
    """Ingests one share of a table (the whole table, or one province's rows); returns its counts."""
    table = RAW_TABLES[share.table]
    staged = warehouse.staged_dir(table.name, share.province)
    sources = list_sources(list(share.files))
    stage_table(con, sources, table.columns, staged, warehouse.root)
    shared = warehouse.staged_dir(table.name, SHARED)
    # largest file first: DuckDB estimates a list of Parquet files from the first one, and an empty
    # first part (a province with no files of its own) made it build joins' hash tables on every row
    parts = sorted([*staged.glob("part-*.parquet"), *share.shared_parts], key=lambda p: (-p.stat().st_size, str(p)))
    staged_glob = "[" + ", ".join(q(p) for p in parts) + "]"
    rejects = "[" + ", ".join(q(d / "rejects.parquet") for d in [staged] + ([shared] if share.takes_orphans else [])) + "]"

    register_udfs(con)
    regions = sorted(r for p in warehouse.profiles() for r in p.regions)
    if table.references_unit:
        # a province's step accepts its own units only: a row of its folder naming another province's unit is unknown there
        own = f"region_code IN ({', '.join(R.literal(r) for r in share.regions) or 'NULL'})" if share.province else "TRUE"
        con.execute(f"CREATE OR REPLACE TEMP TABLE accepted_units AS SELECT unit_id "
                    f"FROM read_parquet({q(warehouse.clean_path('units'))}) WHERE {own}")
    for col, check in [(c, "uscc_check_ok") for c in table.uscc_columns] + [
        (c, "person_check_ok") for c in table.person_columns
    ]:
        # check characters at the grain they live at: distinct well-formed values, materialized
        # first so the python-stdnum UDF is not pushed below the DISTINCT onto every row
        con.execute(f"CREATE OR REPLACE TEMP TABLE distinct_{col} AS SELECT DISTINCT {R.cleaned_cell(col)} AS v "
                    f"FROM read_parquet({staged_glob})")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE bad_{col} AS SELECT v FROM distinct_{col} "
            f"WHERE {R.format_ok(table, col, 'v')} AND NOT {check}(v)")

    judged = staged / "judged.parquet"
    raw = {c: R.ident(f"raw:{c}") for c in table.columns}
    for statement in sql_statements(SQL_DIR / "ingest_checked.sql", cleaned_cells=R.cleaned_cells(table),
                                    rules=R.rules_expression(table, regions), staged_glob=staged_glob,
                                    raw_cells=", ".join(f"{R.ident(c)} AS {raw[c]}" for c in table.columns),
                                    raw_struct=", ".join(f"{R.ident(c)} := {raw[c]}" for c in table.columns),
                                    typed=R.typed_cells(table), judged=q(judged)):
        con.execute(statement)
    # Great Expectations judges the same rows; a row either engine rejects is quarantined
    docs = warehouse.docs_dir() / table.name
    gx_outcome = validate_rows(con, table, warehouse.docs_dir(), docs / share.province if share.province else docs,
                               warehouse.settings.gx_batch_rows,
                               None if warehouse.full_validation else warehouse.settings.gx_sample_rows,
                               build_docs=bool(warehouse.settings.gx_data_docs))
    for statement in sql_statements(SQL_DIR / "ingest_resolved.sql", judged=q(judged),
                                    repeated_keys=R.repeated_keys_query(table), candidate=R.candidate_expression(table),
                                    all_columns=", ".join(R.ident(c) for c in table.columns),
                                    conflict=R.conflict_expression(table)):
        con.execute(statement)
    clean_path = warehouse.clean_path(table.name, share.province)
    accepted = write_parquet(con, "SELECT * FROM accepted", clean_path)
    # from here on the accepted rows are read back from what was written, not computed again
    con.execute(f"CREATE OR REPLACE TEMP VIEW clean AS SELECT * FROM read_parquet({q(clean_path)})")
    write_parquet(
        con,
        "SELECT source_file, source_line FROM resolved WHERE copy_no > 1 ORDER BY source_file, source_line",
        warehouse.duplicates_path(table.name, share.province),
    )
    quarantine_sql = lambda staged_rows: sql_statements(  # noqa: E731
        SQL_DIR / "ingest_quarantine.sql", staged=staged_rows, rejects=rejects,
        raw_struct=", ".join(f"{R.ident(c)} := s.{R.ident(c)}" for c in table.columns),
        hint=hint_sql("q.rule"), field_count_hint=hint_sql("'field_count:record'"))
    quarantined, raw_missing, *_ = quarantine_sql("staged")
    con.execute(quarantined)
    con.execute(raw_missing)
    # the staged records are read again only when some quarantined record's raw cells were not kept
    *_, looked_up, quarantine = quarantine_sql("staged" if scalar(con, "SELECT count(*) FROM raw_missing")
                                               else "(SELECT * FROM staged LIMIT 0)")
    con.execute(looked_up)
    quarantine_path = warehouse.quarantine_path(table.name, share.province)
    counts = {
        "accepted": accepted,
        "quarantined": write_parquet(con, f"SELECT * FROM ({quarantine}) ORDER BY source_file, source_line",
                                     quarantine_path),
        "exact_duplicates": scalar(con, "SELECT count(*) FROM resolved WHERE copy_no > 1"),
    }
    counts["quarantine_by_rule"] = quarantine_by_rule(con, quarantine_path)
    counts["validation"] = write_results(validation_results_path(warehouse, table.name, share.province), table,
                                         gx_outcome, counts["quarantine_by_rule"])
    counts["files"] = _listing(warehouse, sources) + list(share.listed)
    counts["warnings"] = _warnings(con, table)
    if share.province is None:
        return _finish(con, warehouse, table, counts)
    return counts


def _listing(warehouse: Warehouse, sources: list) -> list[dict]:
    return [{"file": relative_name(s.path, warehouse.root), "kind": s.kind, "encoding": s.encoding or "parquet"}
            for s in sources]


def _finish(con, warehouse: Warehouse, table: RawTable, counts: dict) -> dict:
    """What the whole table's step reports besides its counts: rows read, folder state, a preview."""
    raw_dir = warehouse.raw_dir(table.name)
    counts["rows_read"] = records_in_files(warehouse, table.name)
    counts["ignored_files"] = [relative_name(p, warehouse.root) for p in ignored_files(raw_dir)] if raw_dir.is_dir() else []
    counts["missing_folder"] = not raw_dir.is_dir()
    # previews are stored in Dagster's event log and served to every UI user: persons only as person_key
    register_person_key(con, warehouse.pii_key)
    shown = ", ".join(f"person_key({R.ident(c)}) AS {R.ident(c + '_key')}" if c in table.person_columns else R.ident(c)
                      for c in table.columns)
    counts["preview"] = exact_preview(con, f"SELECT {shown} FROM read_parquet({q(warehouse.clean_path(table.name))})",
                                      limit=5)
    return counts


def plan_shares(con, warehouse: Warehouse, table: RawTable) -> list[Share]:
    """The ingest steps of a table. A whole table is one. A table ingested by province has one per
    profile; the files no single province owns are staged here, once, for every province's step to
    read its rows from; and what an earlier run wrote for provinces since removed is cleared."""
    raw_dir = warehouse.raw_dir(table.name)
    if not raw_dir.is_dir() and table.name in REQUIRED_TABLES:
        raise BadInputFile(f"{raw_dir} is missing: place the bureau's export of {table.title} there (CSV or Parquet "
                           "files with the contract's header) and run again.")
    if not table.by_province:
        return [Share(table.name, None, tuple(raw_files(raw_dir)))]
    profiles = warehouse.profiles()
    own, shared = route_files(raw_files(raw_dir), raw_dir, profiles)
    shared_sources = list_sources(shared)
    staged_shared = warehouse.staged_dir(table.name, SHARED)
    stage_table(con, shared_sources, table.columns, staged_shared, warehouse.root, route=_router(con, warehouse, profiles))
    for pattern in (warehouse.clean_path(table.name), warehouse.duplicates_path(table.name),  # every province's
                    warehouse.quarantine_path(table.name, "*"), validation_results_path(warehouse, table.name, "*")):
        for stale in pattern.parent.glob(pattern.name):
            stale.unlink()
    return [Share(table.name, p.policy_id, tuple(own.get(p.policy_id, [])),
                  shared_parts=tuple(sorted((staged_shared / p.policy_id).glob("*.parquet"))),
                  takes_orphans=i == 0, regions=p.regions, listed=_listing(warehouse, shared_sources) if i == 0 else ())
            for i, p in enumerate(profiles)]


def _router(con, warehouse: Warehouse, profiles: list) -> Callable[[str], str]:
    """How a shared file's records are split by province while staged (``ingest_split.sql``)."""
    region_province = ", ".join(f"({R.literal(r)}, {R.literal(p.policy_id)})" for p in profiles for r in p.regions)
    params = dict(units=q(warehouse.clean_path("units")), region_province=region_province or "(NULL, NULL)",
                  orphans_to=R.literal(profiles[0].policy_id), cleaned_unit_id=R.cleaned_cell("unit_id"))
    owner, _ = sql_statements(SQL_DIR / "ingest_split.sql", staged="SELECT NULL AS unit_id", **params)
    con.execute(owner)
    return lambda query: sql_statements(SQL_DIR / "ingest_split.sql", staged=query, **params)[1]


def gather_shares(con, warehouse: Warehouse, table: RawTable, parts: list[dict]) -> dict:
    """The provinces' counts summed into the table's, as one step would have reported them; the
    table's validation record merged (``warehouse/validation/<table>.json``)."""
    counts = {key: sum(p[key] for p in parts) for key in ("accepted", "quarantined", "exact_duplicates")}
    counts["quarantine_by_rule"] = quarantine_by_rule(con, warehouse.quarantine_path(table.name, "*"))
    validations = [p["validation"] for p in parts]
    counts["validation"] = write_results(validation_results_path(warehouse, table.name), table, merge_outcomes(validations),
                                         counts["quarantine_by_rule"])
    counts["files"] = sorted((f for p in parts for f in p["files"]), key=lambda f: f["file"])
    if warehouse.settings.gx_data_docs:
        write_docs_index(warehouse.docs_dir())  # the provinces' steps may have raced on it
    counts["warnings"] = {}
    for p in parts:
        for name, w in p["warnings"].items():
            merged = counts["warnings"].setdefault(name, {"count": 0, "examples": []})
            merged["count"] += w["count"]
            merged["examples"] = (merged["examples"] + w["examples"])[:10]
    return _finish(con, warehouse, table, counts)


def raw_observation(warehouse: Warehouse, table: str) -> dg.AssetObservation:
    """What this run read of ``raw/<table>/``: each file's name, size and SHA-256, and as the raw
    asset's data version the digest of that list, so an auditor sees which files fed which run."""
    files = []
    for path in raw_files(warehouse.raw_dir(table)):
        with open(path, "rb") as fh:
            files.append({"file": relative_name(path, warehouse.root), "bytes": path.stat().st_size,
                          "sha256": hashlib.file_digest(fh, "sha256").hexdigest()})
    version = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
    return dg.AssetObservation(asset_key=raw_key(table), tags={"dagster/data_version": version}, metadata={
        "files": dg.MetadataValue.json(files), "file_count": len(files),
        "bytes": sum(f["bytes"] for f in files), "data_version": version})


def _description(table: RawTable) -> str:
    split = (f" Ingested one province at a time: files under raw/{table.name}/<province_code>/ are that "
             "province's, other files' rows go to the province of their unit (按省拆分入库)." if table.by_province else "")
    return (f"{table.title}: accepted rows of raw/{table.name}/ (CSV UTF-8/GB18030 and Parquet), typed; "
            f"rejected rows go to quarantine/{table.name}/ with the rule they broke.{split} "
            f"入库校验：合格记录入库，不合格记录连同违反的规则进入隔离区，不丢失、不擅改。")


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
    context.log_event(raw_observation(warehouse, table.name))
    if table.name == "contributions":  # the report months this data can report on become partitions
        added = register_report_months(context.instance, latest_contribution_period(warehouse.root))
        if added:
            context.log.info(f"report months {added[0]} to {added[-1]} added as partitions")
    if counts["missing_folder"]:
        context.log.warning(f"raw/{table.name}/ is missing: read as an empty table")
    if counts["ignored_files"]:
        context.log.warning(f"{table.name}: ignored files ({IGNORED_NOTE}): {', '.join(counts['ignored_files'])}")
    context.log.info(
        f"{table.name}: read {counts['rows_read']:,} rows from {len(counts['files'])} files; accepted "
        f"{counts['accepted']:,}, quarantined {counts['quarantined']:,}, exact duplicates {counts['exact_duplicates']:,}")
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
        "quarantine_explained": dg.MetadataValue.md(explain_rules(counts["quarantine_by_rule"])),
        "files": dg.MetadataValue.json(counts["files"]),
        "ignored_files": dg.MetadataValue.json(counts["ignored_files"]),
        "missing_folder": dg.MetadataValue.bool(counts["missing_folder"]),
        "warnings": dg.MetadataValue.json(counts["warnings"]),
        "clean_path": dg.MetadataValue.path(str(warehouse.clean_path(table.name))),
        "quarantine_path": dg.MetadataValue.path(str(warehouse.quarantine_dir(table.name))),
        "preview": dg.MetadataValue.md(counts["preview"]),
    }


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
        return dg.MaterializeResult(metadata=_report(context, warehouse, table, counts))

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
        context.log.info(f"{table.name} {share.province}: accepted {counts['accepted']:,}, quarantined "
                         f"{counts['quarantined']:,}, exact duplicates {counts['exact_duplicates']:,}")
        return counts

    @dg.op(name="gather", out=dg.Out(dg.Nothing), tags={"layer": "ingest"})
    def gather(context: dg.OpExecutionContext, warehouse: Warehouse, parts: list[dict]) -> None:
        """The table's counts, validation record and metadata, as one step would have reported them."""
        with warehouse.connect() as con:
            counts = gather_shares(con, warehouse, table, parts)
        context.add_output_metadata(_report(context, warehouse, table, counts))

    @dg.graph_asset(
        key=ingest_key(table.name),
        group_name="ingest",
        kinds={"duckdb", "parquet"},
        ins={"raw": dg.AssetIn(key=raw_key(table.name), dagster_type=dg.Nothing),
             "units": dg.AssetIn(key=ingest_key("units"), dagster_type=dg.Nothing)},
        description=_description(table),
        owners=["team:data-engineering"],
        tags={"layer": "ingest"},
    )
    def _ingest(raw, units):
        return gather(plan(raw=raw, units=units).map(province).collect())

    return _ingest


def _build_accounting_check(table: RawTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ingest_key(table.name),
        name="rows_accounted_for",
        blocking=True,
        description="Records in the raw files (counted from the files themselves, not by the ingest reader) = accepted "
                    "+ quarantined + exact duplicates (SPEC section 4). 原始记录数 = 入库 + 隔离 + 完全重复。",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        read = records_in_files(warehouse, table.name)
        with warehouse.connect() as con:
            accepted = scalar(con, f"SELECT count(*) FROM read_parquet({q(warehouse.clean_path(table.name))})")
            quarantined = scalar(con, f"SELECT count(*) FROM read_parquet({q(warehouse.quarantine_path(table.name, '*'))})")
            duplicates = scalar(con, f"SELECT count(*) FROM read_parquet({q(warehouse.duplicates_path(table.name))})")
        return dg.AssetCheckResult(
            passed=read == accepted + quarantined + duplicates,
            metadata={"rows_read": read, "accepted": accepted, "quarantined": quarantined,
                      "exact_duplicates": duplicates, "unaccounted": read - accepted - quarantined - duplicates},
        )

    return _check


# The bureaus' exports: external assets (not materialized here), so lineage starts at the raw files.
raw_specs = [
    dg.AssetSpec(raw_key(t.name), group_name="ingest", kinds={"csv", "parquet"}, owners=["team:data-engineering"],
                 description=f"{t.title}: the files under raw/{t.name}/ as the bureau exports them (CSV UTF-8/GB18030 "
                             f"or Parquet). 原始导出文件。")
    for t in RAW_TABLES.values()
]
ingest_assets = [_build_asset(t) for t in RAW_TABLES.values()]
accounting_checks = [_build_accounting_check(t) for t in RAW_TABLES.values()]
