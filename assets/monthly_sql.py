"""Monthly SQL assets: a ``.sql`` file run on DuckDB as of a report month's last day.

The report month reaches SQL in one place, ``as_of.sql``: the macros ``report_month()`` and
``as_of_date()``, and a view per clean table that holds only what was known on that date. An
asset declares its inputs once (``inputs=``): they become its Dagster deps and the only tables its
SQL can read, each under its plain name (a clean table as known on the as-of date, or the
month's Parquet of an upstream policy asset). Reading anything else fails with DuckDB's
"table does not exist", so the graph cannot drift from what the SQL reads.
"""

import json
import warnings
from pathlib import Path
from typing import Callable

import dagster as dg
import duckdb
import pydantic
import yaml

from assets.contracts import RAW_TABLES, ingest_key
from assets.identifiers import register_person_key
from assets.months import next_month
from assets.profiles import PolicyProfile
from assets.province_scope import create_scope, scoped_sql
from assets.resources import Warehouse
from assets.scoped_cuts import province_rows
from assets.storage import exact_preview, q, read_largest_first, sql_statements, write_parquet
from assets.versions import digest_of, setup_digest

CORE_DIR = Path(__file__).parent
# An input that is policy data shipped with the code, not an asset: its name -> what creates its table
StaticInputs = dict[str, Callable[[duckdb.DuckDBPyConnection], None]]
# Each table that serves every month (summary_tables.yaml) -> the clean tables it is computed from
SUMMARY_INPUTS: dict[str, list[str]] = {}
# backfill_policy is marked beta in Dagster 1.13; single-run backfills are what monthly operation needs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


class SqlAssetSpec(pydantic.BaseModel):
    """One entry of a stage's ``monthly_assets.yaml`` or ``summary_tables.yaml``."""

    model_config = pydantic.ConfigDict(extra="forbid")
    inputs: list[str]
    description: str
    count_by: str | None = None
    # temp tables the SQL leaves that are written beside the asset's own output (temp table -> table
    # name), read by later assets as inputs of their own
    extra_outputs: dict[str, str] = {}
    # a summary whose SQL adds up over the rows of this input: run on each of its accepted-row files
    # alone, each file's result kept, and combined by ``<name>.combine.sql`` (which reads ``parts``)
    by_file: str | None = None


def side_outputs(sql_dir: Path) -> dict[str, str]:
    """The extra outputs a stage's monthly assets write (table -> the asset writing it), for the
    stages that read them to name as inputs."""
    return {
        out: name
        for name, spec in declared(sql_dir / "monthly_assets.yaml").items()
        for out in spec.extra_outputs.values()
    }


def deps_of(inputs: list[str], static: StaticInputs, upstream: dict[str, str]) -> list[dg.AssetKey]:
    """The assets writing ``inputs`` (an upstream stage's extra output: the asset writing it)."""
    keys = {ingest_key(i) if i in RAW_TABLES else dg.AssetKey([upstream.get(i, i)]) for i in inputs if i not in static}
    return sorted(keys, key=lambda k: k.to_user_string())


def clean_source(warehouse: Warehouse, table: str, province: str) -> Path:
    """The accepted rows a province's month reads: for a table ingested by province the province's
    file (every province's when ingest has not written one for it: a profile added since)."""
    if RAW_TABLES[table].by_province and not warehouse.clean_files(table, province):
        return warehouse.clean_path(table)
    return warehouse.clean_path(table, province)


def prepare(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, inputs: list[str], province: str, static: StaticInputs
) -> None:
    """Once per connection and province: each raw input as a view of the province's rows
    (:mod:`assets.province_scope`) cut to the as-of date (the cut reads the ``report_month()``
    macro, which :func:`set_month` redefines); the person_key UDF; the static inputs declared (the
    300号 table, the persons' keys) in the order listed; shared macros."""
    con.execute("CREATE SCHEMA IF NOT EXISTS clean")
    register_person_key(con, warehouse.pii_key)  # a development key is announced once per run by Settings
    create_scope(con, warehouse.profiles(), q(warehouse.clean_path("units")), province)
    set_month(con, warehouse, "1900-01", province, [])  # the macros the views bind to
    for name in inputs:
        if name in RAW_TABLES:
            source = clean_source(warehouse, name, province)
            # a table ingested by province: the province's own file (the scope filter keeps it exact); else
            # the province's rows, cut once (a view over the cut file)
            scoped = (
                scoped_sql(read_largest_first(source), list(RAW_TABLES[name].columns))
                if RAW_TABLES[name].by_province
                else f"SELECT * FROM {province_rows(con, warehouse, name, source, province)}"
            )
            con.execute(f"CREATE OR REPLACE VIEW clean.{name} AS {scoped}")
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {RAW_TABLES[name].known_sql()}")
        elif name in static:
            static[name](con)
        elif not _is_monthly(warehouse, name):  # a table that serves every month (the per-unit summaries)
            rows = province_rows(con, warehouse, name, warehouse.policy_path(name), province)
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {rows}")
    for statement in sql_statements(CORE_DIR / "macros.sql"):
        con.execute(statement)


def _is_monthly(warehouse: Warehouse, name: str) -> bool:
    """Whether policy input ``name`` is written per report month (else one table serves every month)."""
    return (warehouse.policy_path(name).parent / name).is_dir()


def set_month(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, month: str, province: str, inputs: list[str]
) -> None:
    """Report ``month``: the as-of macros, and the province's file of that month of each upstream
    policy input (the tables that serve every month are cut to the province once, by :func:`prepare`)."""
    for statement in sql_statements(CORE_DIR / "as_of.sql", report_month=month):
        con.execute(statement)
    for name in inputs:
        if name not in RAW_TABLES and _is_monthly(warehouse, name):  # policy data has no monthly files
            con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
                f"{q(warehouse.policy_path(name, month, province))})"
            )


def preview(con: duckdb.DuckDBPyConnection, path) -> dg.MetadataValue:
    """The first rows, exact (:func:`assets.storage.exact_preview`): a person appears only as
    person_key (Dagster's event log is read by every UI user)."""
    masked = con.sql(f"SELECT * FROM read_parquet({q(path)}) LIMIT 0").columns
    shown = ", ".join(f"person_key({c}) AS {c.replace('_id', '_key')}" if c == "person_id" else c for c in masked)
    return dg.MetadataValue.md(exact_preview(con, f"SELECT {shown} FROM read_parquet({q(path)})"))


def counts_by(con: duckdb.DuckDBPyConnection, path, column: str) -> dict[str, int]:
    rows = con.execute(
        f"SELECT {column}::VARCHAR, count(*) FROM read_parquet({q(path)}) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {str(k): int(n) for k, n in rows}


def run_sql_file(con: duckdb.DuckDBPyConnection, sql_file: Path, target: Path) -> int:
    """Runs every statement of ``sql_file`` and writes its last one's rows to ``target``."""
    *setup, query = sql_statements(sql_file)
    for statement in setup:
        con.execute(statement)
    return write_parquet(con, query, target)


def run_month(
    con,
    warehouse: Warehouse,
    name: str,
    month: str,
    province: str,
    inputs: list[str],
    sql_dir: Path,
    extra_outputs: dict[str, str] | None = None,
) -> int:
    """Runs ``<sql_dir>/<name>.sql`` for ``province`` as of ``month``; writes its last statement's rows
    and the temp tables it left that ``extra_outputs`` names (temp table -> table name)."""
    set_month(con, warehouse, month, province, inputs)
    rows = run_sql_file(con, sql_dir / f"{name}.sql", warehouse.policy_path(name, month, province))
    for temp, table in (extra_outputs or {}).items():
        # in a fixed order (every column: its rows are distinct), so a run writes the bytes another run writes
        write_parquet(con, f"SELECT * FROM {temp} ORDER BY ALL", warehouse.policy_path(table, month, province))
    return rows


def declared(path: Path) -> dict[str, SqlAssetSpec]:
    return {name: SqlAssetSpec(**spec) for name, spec in yaml.safe_load(path.read_text(encoding="utf-8")).items()}


def summary_sql_assets(group: str, sql_dir: Path) -> list[dg.AssetsDefinition]:
    """The assets declared in ``<sql_dir>/summary_tables.yaml``: one table for every report month,
    computed from the clean tables as ingested (all periods), written to ``warehouse/policy/<name>.parquet``."""
    specs = declared(sql_dir / "summary_tables.yaml")
    SUMMARY_INPUTS.update({name: spec.inputs for name, spec in specs.items()})
    return [summary_sql_asset(name, spec, group, sql_dir) for name, spec in specs.items()]


def summary_sql_asset(name: str, spec: SqlAssetSpec, group: str, sql_dir: Path) -> dg.AssetsDefinition:
    @dg.asset(
        name=name,
        group_name=group,
        kinds={"duckdb", "parquet"},
        description=spec.description,
        deps=deps_of(spec.inputs, {}, {}),
        owners=["team:data-engineering"],
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.policy_path(name)
        # computed from the clean tables as ingested: unchanged while their ingests are
        ingested = [warehouse.ingest_digest(t) for t in spec.inputs]
        setup = setup_digest(warehouse.profiles(), warehouse.pii_key)
        digest = digest_of([setup, *(f"{t} {d}" for t, d in zip(spec.inputs, ingested))])
        record = path.with_suffix(".digest")
        try:
            entry = json.loads(record.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entry = {}
        if not warehouse.recompute_all and None not in ingested and entry.get("digest") == digest and path.exists():
            context.log.info(f"{name}: its clean inputs are unchanged since it was computed: kept")
            return dg.MaterializeResult(metadata=_summary_metadata(entry, path, computed=False))
        record.unlink(missing_ok=True)
        with warehouse.connect() as con:
            for table in spec.inputs:
                con.execute(
                    f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM {read_largest_first(warehouse.clean_path(table))}"
                )
            register_person_key(con, warehouse.pii_key)  # the preview shows person_key, never person_id
            window_period_macros(con, warehouse.profiles())
            if spec.by_file and warehouse.clean_files(spec.by_file):
                rows = _summed_by_file(con, warehouse, name, spec, sql_dir, path)
            else:
                rows = run_sql_file(con, sql_dir / f"{name}.sql", path)
            entry = {"digest": digest, "rows": rows, "preview": preview(con, path).value}
        record.write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
        return dg.MaterializeResult(metadata=_summary_metadata(entry, path, computed=True))

    return _asset


def window_period_macros(con: duckdb.DuckDBPyConnection, profiles: list[PolicyProfile]) -> None:
    """Macros ``window_first_period()`` and ``window_last_period()``: the earliest and the latest contribution
    period a deferral window of any profile can hold (from its first period to the month after its last
    one: a paid first period shifts the window by a month, SPEC section 3; a commitment's window lies
    inside), as constants: a summary that serves the windows only reads the row groups of their periods
    (Parquet statistics), not every month's contributions."""
    first = min(p.first_period for p in profiles)
    last = max(next_month(p.first_period, p.window_periods) for p in profiles)
    con.execute(f"CREATE OR REPLACE MACRO window_first_period() AS {q(first)}")
    con.execute(f"CREATE OR REPLACE MACRO window_last_period() AS {q(last)}")


def _summed_by_file(con, warehouse: Warehouse, name: str, spec: SqlAssetSpec, sql_dir: Path, target: Path) -> int:
    """``name``'s SQL run on each accepted-row file of its ``by_file`` input alone, each result kept beside
    ``target`` (``<name>.parts/``) by the file's name, size and time and what else the summary is made
    from (the code, the profiles, its other inputs' ingests), then combined: a new month's run sums its
    own files, not every row."""
    table = spec.by_file
    others = [f"{t} {warehouse.ingest_digest(t)}" for t in spec.inputs if t != table]
    setup = digest_of([setup_digest(warehouse.profiles(), warehouse.pii_key), name, *others])
    folder, parts = target.with_suffix(".parts"), []
    for path in warehouse.clean_files(table):
        stat = path.stat()
        key = digest_of([setup, str(path.relative_to(warehouse.root)), str(stat.st_size), str(stat.st_mtime_ns)])
        part = folder / f"{key[:32]}.parquet"
        if warehouse.recompute_all or not part.exists():
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({q(path)})")
            run_sql_file(con, sql_dir / f"{name}.sql", part)
        parts.append(part)
    for stale in set(folder.glob("*.parquet")) - set(parts):
        stale.unlink()
    con.execute(f"CREATE OR REPLACE VIEW parts AS SELECT * FROM read_parquet([{', '.join(q(p) for p in parts)}])")
    return run_sql_file(con, sql_dir / f"{name}.combine.sql", target)


def _summary_metadata(entry: dict, path: Path, computed: bool) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(entry["rows"]),
        "path": dg.MetadataValue.path(str(path)),
        "computed_this_run": computed,
        "preview": dg.MetadataValue.md(entry["preview"]),
    }
