"""The ingest engine: one table's (or one province's) raw files staged, judged by every rule and by
Great Expectations, and written as accepted, quarantined and duplicate rows (SPEC section 4).
入库引擎：暂存、校验、写入合格/隔离/重复记录。

Each reads every CSV and Parquet file of its share of ``raw/<table>/``, applies the row rules, writes
the accepted rows to ``warehouse/clean/<table>.parquet`` (typed: DECIMAL(18,2) money, DATE dates,
YYYY-MM periods), every rejected row to ``quarantine/<table>/`` with the rule it broke, and the
dropped exact duplicates to ``warehouse/duplicates/<table>.parquet``. Nothing is lost, nothing
silently fixed: rows read = accepted + quarantined + exact duplicates, checked on every run.
"""

from assets.contracts import RAW_TABLES, RawTable
from assets.identifiers import register_udfs
from assets.ingest import reuse
from assets.ingest import rules as R
from assets.ingest.check_memo import failing
from assets.ingest.counts import listing, quarantine_by_rule, table_summary, warnings
from assets.ingest.gx_records import write_results
from assets.ingest.gx_runner import GxInput, validate_rows
from assets.ingest.judging import UNITS_CHANGED, Input, batch_of, judge
from assets.ingest.resolve import resolve
from assets.ingest.shares import SHARED, SQL_DIR, Share, gather_shares, plan_shares
from assets.ingest.sources import list_sources
from assets.ingest.staging import parquet_records, parquet_types, stage_table
from assets.resources import Warehouse
from assets.storage import ident, q, scalar, sql_statements, write_parquet
from assets.vocabulary import hint_sql


def ingest_table(con, warehouse: Warehouse, table: RawTable) -> dict:
    """Runs the whole ingest of one table on a DuckDB connection, in this process; returns its counts
    (a table ingested by province: every province's step one after the other, then their sum)."""
    shares = plan_shares(con, warehouse, table)
    if not table.by_province:
        return ingest_share(con, warehouse, shares[0])
    return gather_shares(con, warehouse, table, [ingest_share(con, warehouse, s) for s in shares])


def _inputs(con, warehouse: Warehouse, table: RawTable, parts: list, in_place: list) -> list[Input]:
    """What a step judges, in order: each staged part (named by its stem, which holds its file's key,
    and when it was written: a shared file's part is written again when its units moved) then each
    Parquet file read in place (named by its key). A Parquet file and its split parts keep the
    columns it holds as their contract type (rules.typed_in_source): those are judged by value, not
    as text."""
    staged_columns = ("source_file", "source_line", *table.columns)
    inputs = []
    for part in parts:
        types = parquet_types(con, part, staged_columns)
        typed = R.typed_in_source(table, types)
        stat = part.stat()
        inputs.append(
            Input(
                f"{part.stem} {stat.st_mtime_ns}",
                f"SELECT * FROM read_parquet({q(part)})",
                typed,
                batch_of(typed, types, stat.st_size),
            )
        )
    keys = reuse.file_keys(warehouse, table, in_place)
    for path in in_place:
        types = parquet_types(con, path, table.columns)
        typed = R.typed_in_source(table, types)
        records = parquet_records(con, path, table.columns, warehouse.root, typed)
        inputs.append(Input(keys[path], records, typed, batch_of(typed, types, path.stat().st_size)))
    return inputs


def ingest_share(con, warehouse: Warehouse, share: Share) -> dict:
    """Ingests one share of a table (the whole table, or one province's rows); returns its counts."""
    table = RAW_TABLES[share.table]
    if share.reuse:  # unchanged since its last ingest (assets/ingest/reuse.py)
        return {**reuse.recorded_counts(warehouse, table.name, share.province), "kept": True}
    staged = warehouse.staged_dir(table.name, share.province)
    sources = list_sources(list(share.files))
    # CSV files are parsed into staged Parquet; Parquet files (and shared ones that are this province's
    # alone) are read in place
    parsed = [s for s in sources if s.kind != "parquet"]
    keys = reuse.file_keys(warehouse, table, [s.path for s in parsed])
    stage_table(con, parsed, table.columns, staged, warehouse.root, keys=keys)
    in_place = [s.path for s in sources if s.kind == "parquet"] + list(share.direct_files)
    shared = warehouse.staged_dir(table.name, SHARED)
    # largest file first: DuckDB estimates a list of Parquet files from the first one, and an empty
    # first part (a province with no files of its own) made it build joins' hash tables on every row
    parts = sorted([*staged.glob("part-*.parquet"), *share.shared_parts], key=lambda p: (-p.stat().st_size, str(p)))
    inputs = _inputs(con, warehouse, table, parts, sorted(in_place))
    # every record with its cells as text, whatever its input
    texts = [
        f"SELECT source_file, source_line, "
        f"{', '.join(f'{R.cell_text(c, typed)} AS {ident(c)}' for c in table.columns)} FROM ({records})"
        for _, records, typed, _ in inputs
    ]
    staged_rows = "(" + " UNION ALL ".join(texts) + ")"
    rejects = (
        "[" + ", ".join(q(d / "rejects-*.parquet") for d in [staged] + ([shared] if share.takes_orphans else [])) + "]"
    )
    # each input's verdicts are kept under a key of what they are a function of: only inputs not judged
    # before (a new or changed file, or everything after a change of code, profiles or units) are judged
    judged_parts = [
        staged / f"judged-{reuse.judged_key(warehouse, table, share.province, name)}.parquet" for name, *_ in inputs
    ]
    units_of = {j: j.with_name(j.name.replace("judged-", "units-", 1)) for j in judged_parts}
    for stale in {*staged.glob("judged-*.parquet"), *staged.glob("units-*.parquet")} - {
        *judged_parts,
        *units_of.values(),
    }:
        stale.unlink()

    register_udfs(con)
    regions = sorted(r for p in warehouse.profiles() for r in p.regions)
    if table.references_unit:
        # a province's step accepts its own units only: a row of its folder naming another province's unit is
        # unknown there
        own = f"region_code IN ({', '.join(q(r) for r in share.regions) or 'NULL'})" if share.province else "TRUE"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE accepted_units AS SELECT unit_id "
            f"FROM read_parquet({q(warehouse.clean_path('units'))}) WHERE {own}"
        )
        for judged_part, units in units_of.items():
            # kept verdicts hold each row's unknown_unit: judged again when one of the input's units was
            # accepted or removed since (units-<key>.parquet: its unit ids and whether each was accepted)
            if judged_part.exists() and (not units.exists() or scalar(con, UNITS_CHANGED.format(units=q(units)))):
                judged_part.unlink()
    to_judge = [(i, j) for i, j in zip(inputs, judged_parts) if not j.exists()]
    for col, check in [(c, "uscc_check_ok") for c in table.uscc_columns] + [
        (c, "person_check_ok") for c in table.person_columns
    ]:
        # check characters at the grain they live at: distinct well-formed values, materialized
        # first so the python-stdnum UDF is not pushed below the DISTINCT onto every row
        # (of the inputs judged now: a kept input's verdicts hold its values' checks); the distinct raw
        # values are cleaned, not every row's (Anhui's 61.9 million rows, 4.6 million persons: 5.5 -> 1.7 s)
        values = [f"SELECT {R.cell_text(col, i.typed)} AS {ident(col)} FROM ({i.records})" for i, _ in to_judge]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE distinct_{col} AS SELECT DISTINCT {R.cleaned_cell(col)} AS v "
            f"FROM (SELECT DISTINCT {ident(col)} "
            f"FROM ({' UNION ALL '.join(values) or f'SELECT NULL::VARCHAR AS {ident(col)}'}))"
        )
        # each value's check once across runs (assets/ingest/check_memo.py)
        failing(con, warehouse, check, f"distinct_{col} WHERE {R.format_ok(table, col, 'v')}", f"bad_{col}")

    judge(con, table, regions, to_judge, units_of)
    judged = "[" + ", ".join(q(p) for p in judged_parts) + "]"
    for statement in sql_statements(SQL_DIR / "ingest_checked.sql", staged_rows=staged_rows, judged=judged):
        con.execute(statement)
    # Great Expectations judges the same rows; a row either engine rejects is quarantined
    docs = warehouse.docs_dir() / table.name
    gx_outcome = validate_rows(
        con,
        table,
        [GxInput(text, j) for text, j in zip(texts, judged_parts)],
        R.cleaned_cells(table),
        (warehouse.docs_dir(), docs / share.province if share.province else docs)
        if warehouse.settings.gx_data_docs
        else None,
        warehouse.settings.gx_batch_rows,
        None if warehouse.full_validation else warehouse.settings.gx_sample_rows,
    )
    # duplicates and conflicts across inputs; the accepted rows a file per input (assets/ingest/resolve.py)
    clean_path = warehouse.clean_path(table.name, share.province)
    resolve(con, table, judged_parts, clean_path.parent, incremental=not warehouse.recompute_all)
    # from here on the accepted rows are read back from what was written, not computed again
    con.execute(f"CREATE OR REPLACE TEMP VIEW clean AS SELECT * FROM read_parquet({q(clean_path)})")
    accepted = scalar(con, "SELECT count(*) FROM clean")
    write_parquet(
        con,
        "SELECT source_file, source_line FROM resolved WHERE copy_no > 1 ORDER BY source_file, source_line",
        warehouse.duplicates_path(table.name, share.province),
    )
    quarantine_sql = lambda looked_up_in: sql_statements(  # noqa: E731
        SQL_DIR / "ingest_quarantine.sql",
        staged=looked_up_in,
        rejects=rejects,
        raw_struct=", ".join(f"{ident(c)} := s.{ident(c)}" for c in table.columns),
        hint=hint_sql("q.rule", table.value_kinds()),
        field_count_hint=hint_sql("'field_count:record'"),
    )
    quarantined, raw_missing, *_ = quarantine_sql("staged")
    con.execute(quarantined)
    con.execute(raw_missing)
    # the staged records are read again only when some quarantined record's raw cells were not kept
    *_, looked_up, quarantine = quarantine_sql(
        "staged" if scalar(con, "SELECT count(*) FROM raw_missing") else "(SELECT * FROM staged LIMIT 0)"
    )
    con.execute(looked_up)
    quarantine_path = warehouse.quarantine_path(table.name, share.province)
    counts = {
        "accepted": accepted,
        "quarantined": write_parquet(
            con, f"SELECT * FROM ({quarantine}) ORDER BY source_file, source_line", quarantine_path
        ),
        "exact_duplicates": scalar(con, "SELECT count(*) FROM resolved WHERE copy_no > 1"),
    }
    counts["quarantine_by_rule"] = quarantine_by_rule(con, quarantine_path)
    counts["validation"] = write_results(
        warehouse.validation_path(table.name, share.province),
        table,
        gx_outcome,
        counts["quarantine_by_rule"],
        counts["quarantined"],
    )
    counts["files"] = listing(warehouse, sources) + list(share.listed)
    counts["warnings"] = warnings(con, warehouse, table, warehouse.clean_files(table.name, share.province), staged)
    counts["digest"] = share.digest
    if share.province is None:
        counts = table_summary(con, warehouse, table, counts)
    reuse.save(warehouse, table.name, share.province, share.digest, counts)
    return counts
