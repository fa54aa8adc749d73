"""Invariants that must hold every report month, as asset checks declared in a stage's
``checks.yaml``: each names its asset, a ``<name>.check.sql`` beside it that selects the rows
breaking the invariant, and what those rows show. The SQL reads the month's tables by name (every
province's file of that month, and the tables that serve every month) and the month's macros of
``as_of.sql`` (``as_of_date()``, ``is_overdue``). A check passes when no month has such a row.
每个报告月都须成立的校验：SQL 列出违反的记录，无则通过。
"""

from pathlib import Path

import dagster as dg
import pydantic
import yaml

from assets.resources import Warehouse
from assets.storage import q, sql_statements

CORE_DIR = Path(__file__).parent


class InvariantSpec(pydantic.BaseModel):
    """One entry of a stage's ``checks.yaml``."""

    model_config = pydantic.ConfigDict(extra="forbid")
    asset: str
    description: str
    shows: str  # what each failing row holds, after its report month
    blocking: bool = True


def month_views(con, warehouse: Warehouse, month: str, reads: set[str]) -> None:
    """The as-of macros of ``month`` and a view per policy table in ``reads``: its files of that month
    (every province's), or the one file of a table that serves every month."""
    for statement in sql_statements(CORE_DIR / "as_of.sql", report_month=month):
        con.execute(statement)
    folder = warehouse.root / "warehouse" / "policy"
    for path in sorted(folder.glob("*.parquet")):
        if path.stem in reads:
            con.execute(f"CREATE OR REPLACE VIEW {path.stem} AS SELECT * FROM read_parquet({q(path)})")
    for table in sorted(p.parent.name for p in folder.glob(f"*/{month}")):
        if table in reads:
            files = q(warehouse.policy_path(table, month))
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({files})")


def rows_each_month(warehouse: Warehouse, asset: str, sql_file: Path) -> list[tuple]:
    """(month, *row) for every row ``sql_file`` selects, over every report month of ``asset``. Only the
    tables the SQL names get a view (DuckDB's parser lists them): each view reads its file's footer."""
    statements = sql_statements(sql_file)
    *setup, query = statements
    out = []
    with warehouse.connect() as con:
        reads: set[str] | None = None
        for month in warehouse.policy_months(asset):
            if reads is None:
                month_views(con, warehouse, month, set())  # the macros the statements call
                reads = {t for statement in statements for t in con.get_table_names(statement)}
            month_views(con, warehouse, month, reads)
            for statement in setup:
                con.execute(statement)
            out += [(month, *r) for r in con.execute(query).fetchall()]
    return out


def invariant_check(name: str, spec: InvariantSpec, sql_file: Path) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey([spec.asset]), name=name, blocking=spec.blocking, description=spec.description)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        bad = rows_each_month(warehouse, spec.asset, sql_file)
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={
                "months_checked": len(warehouse.policy_months(spec.asset)),
                "rows_failing": len(bad),
                f"examples (month, {spec.shows})": dg.MetadataValue.json([[str(v) for v in r] for r in bad[:10]]),
            },
        )

    return _check


def invariant_checks(sql_dir: Path) -> list[dg.AssetChecksDefinition]:
    """The checks declared in ``<sql_dir>/checks.yaml``, each with its ``<name>.check.sql``."""
    declared = yaml.safe_load((sql_dir / "checks.yaml").read_text(encoding="utf-8"))
    return [invariant_check(n, InvariantSpec(**s), sql_dir / f"{n}.check.sql") for n, s in declared.items()]
