"""Monthly SQL assets: a ``.sql`` file run on DuckDB as of a report month's last day.

The report month reaches SQL in one place, ``as_of.sql``: the macros ``report_month()`` and
``as_of_date()``, and a view per clean table that holds only what was known on that date. An
asset declares its inputs once (``inputs=``): they become its Dagster deps and the only tables its
SQL can read, each under its plain name (a clean table as known on the as-of date, or the
month's Parquet of an upstream policy asset). Reading anything else fails with DuckDB's
"table does not exist", so the graph cannot drift from what the SQL reads.
"""

import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pydantic
import yaml

from assets.contracts import RAW_TABLES, ingest_key
from assets.identifiers import register_person_key
from assets.partitions import report_months
from assets.resources import Warehouse
from assets.storage import q, sql_statements, write_parquet

CORE_DIR = Path(__file__).parent
THRESHOLDS_FILE = CORE_DIR / "policy" / "sme_thresholds.yaml"  # 工信部联企业〔2011〕300号, as data
UNPARTITIONED = {"policy_regions"}  # policy outputs with one file for every month
# files written beside an asset's own output, read by later assets as inputs of their own
SIDE_OUTPUTS = {"repayment_allocations": "repayment_schedule"}
# backfill_policy is marked beta in Dagster 1.13; single-run backfills are what monthly operation needs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


class MonthlyAssetSpec(pydantic.BaseModel):
    """One entry of a stage's ``monthly_assets.yaml``."""

    model_config = pydantic.ConfigDict(extra="forbid")
    inputs: list[str]
    description: str
    count_by: str | None = None
    extra_outputs: tuple[str, ...] = ()


def input_key(name: str) -> dg.AssetKey:
    """The asset that writes input ``name``."""
    return ingest_key(name) if name in RAW_TABLES else dg.AssetKey([SIDE_OUTPUTS.get(name, name)])


def prepare(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, month: str, inputs: list[str]) -> None:
    """Views of ``inputs`` as of report ``month``; shared macros; the 300号 table; the person_key UDF."""
    con.execute("CREATE SCHEMA IF NOT EXISTS clean")
    for table in RAW_TABLES:
        con.execute(f"CREATE OR REPLACE VIEW clean.{table} AS SELECT * FROM read_parquet({q(warehouse.clean_path(table))})")
    for statement in sql_statements(CORE_DIR / "as_of.sql", report_month=month):
        con.execute(statement)
    for name in inputs:
        if name in RAW_TABLES:
            source = f"({RAW_TABLES[name].known_sql()})"
        else:
            source = f"read_parquet({q(warehouse.policy_path(name, None if name in UNPARTITIONED else month))})"
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM {source}")
    _thresholds(con)
    for statement in sql_statements(CORE_DIR / "macros.sql"):
        con.execute(statement)
    register_person_key(con, warehouse.pii_key)  # a development key is announced once per run by Settings


def _thresholds(con: duckdb.DuckDBPyConnection) -> None:
    spec = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    rows = []
    for cat in spec["categories"]:
        x, y, z = (cat.get(k) or [None, None, None] for k in ("X", "Y", "Z"))
        rows += [(cat["category"], code, *x, *y, *z) for code in cat["codes"]]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sme_thresholds (category VARCHAR, prefix VARCHAR, "
        "x_cap BIGINT, x_medium BIGINT, x_small BIGINT, y_cap BIGINT, y_medium BIGINT, y_small BIGINT, "
        "z_cap BIGINT, z_medium BIGINT, z_small BIGINT)")
    con.executemany("INSERT INTO sme_thresholds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def preview(con: duckdb.DuckDBPyConnection, path) -> dg.MetadataValue:
    df = con.execute(f"SELECT * FROM read_parquet({q(path)}) LIMIT 10").df()
    return dg.MetadataValue.md(df.to_markdown(index=False))


def counts_by(con: duckdb.DuckDBPyConnection, path, column: str) -> dict[str, int]:
    rows = con.execute(f"SELECT {column}::VARCHAR, count(*) FROM read_parquet({q(path)}) GROUP BY 1 ORDER BY 1").fetchall()
    return {str(k): int(n) for k, n in rows}


def run_month(con, warehouse: Warehouse, name: str, month: str, inputs: list[str], sql_dir: Path,
              extra_outputs: tuple[str, ...] = ()) -> int:
    """Runs ``<sql_dir>/<name>.sql`` as of ``month``; writes its last statement's rows and any named
    temp tables (``repayment_<extra>``)."""
    prepare(con, warehouse, month, inputs)
    *setup, query = sql_statements(sql_dir / f"{name}.sql")
    for statement in setup:
        con.execute(statement)
    for extra in extra_outputs:
        write_parquet(con, f"SELECT * FROM {extra}", warehouse.policy_path(f"repayment_{extra}", month))
    return write_parquet(con, query, warehouse.policy_path(name, month))


def monthly_sql_assets(group: str, sql_dir: Path) -> list[dg.AssetsDefinition]:
    """The assets declared in ``<sql_dir>/monthly_assets.yaml``, in file order."""
    declared = yaml.safe_load((sql_dir / "monthly_assets.yaml").read_text(encoding="utf-8"))
    return [monthly_sql_asset(name, MonthlyAssetSpec(**spec), group, sql_dir) for name, spec in declared.items()]


def monthly_sql_asset(name: str, spec: MonthlyAssetSpec, group: str, sql_dir: Path) -> dg.AssetsDefinition:
    """A report-month-partitioned asset computed by ``<sql_dir>/<name>.sql`` from ``spec.inputs``."""
    inputs, count_by, extra_outputs = spec.inputs, spec.count_by, spec.extra_outputs
    @dg.asset(
        name=name,
        group_name=group,
        kinds={"duckdb", "parquet"},
        deps=sorted({input_key(i) for i in inputs}, key=lambda k: k.to_user_string()),
        description=spec.description,
        owners=["team:data-engineering"],
        partitions_def=report_months,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        rows_by_month: dict[str, int] = {}
        with warehouse.connect() as con:
            for month in context.partition_keys:
                started = time.monotonic()
                rows_by_month[month] = run_month(con, warehouse, name, month, inputs, sql_dir, extra_outputs)
                context.log.info(f"{name} as of {month}: {rows_by_month[month]:,} rows in {time.monotonic() - started:.1f} s")
            last = context.partition_keys[-1]
            path = warehouse.policy_path(name, last)
            metadata = {"dagster/row_count": dg.MetadataValue.int(rows_by_month[last]), "as_of_month": last,
                        "rows_by_month": dg.MetadataValue.json(rows_by_month),
                        "path": dg.MetadataValue.path(str(path)), "preview": preview(con, path)}
            if count_by:
                metadata[f"rows_by_{count_by}"] = dg.MetadataValue.json(counts_by(con, path, count_by))
        return dg.MaterializeResult(metadata=metadata)

    return _asset
