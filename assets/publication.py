"""Publication (发布): the SPEC section 4 tables for the bureaus, as Parquet under published/.

Snapshot tables hold the state as of the run's report month (``--as-of``, else the latest month
computed). ``monthly_statistics`` holds every report month, Hive-partitioned by report_month.
Each table is written whole into a staging folder and swapped in with two renames: a reader
never sees half a table, and a failed run leaves the previous publication readable. The same
inputs give the same files (rows in a fixed order), so reruns are idempotent. Persons appear only
as person_key (HMAC-SHA256 with DEFERRAL_PII_KEY); quarantine and warehouse files, which hold raw
identifiers, are never published.
"""

import os
import shutil
from pathlib import Path

import dagster as dg

from assets.storage import q, write_parquet
from pipelines.resources import Warehouse

# SPEC section 4 columns, in order.
PUBLISHED_COLUMNS = {
    "fund_reserve_status": ["region_code", "policy_id", "as_of_month", "months_payable", "eligible",
                            "outstanding_deferred", "months_payable_after_deferral"],
    "deferral_decisions": ["unit_id", "uscc", "unit_name", "region_code", "policy_id", "unit_type", "size_class",
                           "classification", "basis", "eligible", "reason", "window_start", "window_end", "shifted"],
    "deferral_ledger": ["unit_id", "uscc", "region_code", "period", "component", "assessed_amount", "paid_amount",
                        "refunded_amount", "deferred_amount", "insured_persons"],
    "repayment_schedule": ["obligation_id", "unit_id", "uscc", "region_code", "person_key", "trigger", "period",
                           "component", "amount", "due_date", "repaid_amount", "outstanding_amount", "status",
                           "late_fee"],
    "reconciliation_discrepancies": ["uscc", "unit_id", "region_code", "period", "component", "kind",
                                     "health_amount", "tax_amount", "difference"],
    "deferral_plan": ["unit_id", "uscc", "unit_name", "region_code", "policy_id", "period", "component",
                      "planned_deferral", "due_date"],
    "monthly_statistics": ["region_code", "report_month", "category", "units_deferring", "persons_covered",
                           "deferred_amount", "cumulative_deferred", "repaid_in_month", "cumulative_repaid",
                           "outstanding", "overdue_outstanding", "late_fee", "tax_units_deferring",
                           "tax_deferred_amount", "discrepancies", "reconciled"],
}
DESCRIPTIONS = {
    "fund_reserve_status": "Fund reserve per pooling region: months payable, eligibility, outstanding deferral. 统筹基金可支付月数与待补缴。",
    "deferral_decisions": "The deferral list: every unit with its decision and reason. 缓缴名单及原因（免申即享/承诺）。",
    "deferral_ledger": "Deferred amounts per unit, period and component. 缓缴台账。",
    "repayment_schedule": "Repayment obligations with status and late fee; persons only as person_key. 补缴计划、状态与滞纳金。",
    "reconciliation_discrepancies": "Differences between health's ledger and the tax register. 医保与税务核对差异。",
    "deferral_plan": "The per-unit plan health sends to tax (分户传递): planned deferral and due date. 分户缓缴计划。",
    "monthly_statistics": "Monthly statistics per region and province x category, health and tax side by side. 月度统计。",
}


def swap_in(staging: Path, final: Path) -> None:
    """Replace ``final`` by ``staging``: two renames, the old folder removed only afterwards."""
    old = final.with_name(f".{final.name}.{os.getpid()}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def publish_table(con, warehouse: Warehouse, table: str, month: str) -> int:
    """Write ``published/<table>/`` whole as of ``month`` and swap it in; returns rows written."""
    final = warehouse.published_dir(table)
    staging = final.with_name(f".{table}.{os.getpid()}.new")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        n = _write_table(con, warehouse, table, month, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_in(staging, final)
    return n


def _write_table(con, warehouse: Warehouse, table: str, month: str, staging: Path) -> int:
    columns = PUBLISHED_COLUMNS[table]
    if table == "monthly_statistics":
        months = [m for m in warehouse.policy_months(table) if m <= month]
        n = 0
        for m in months:
            select = ", ".join(c for c in columns if c != "report_month")
            n += write_parquet(con, f"SELECT {select} FROM read_parquet({q(warehouse.policy_path(table, m))}) "
                                    f"ORDER BY region_code, category",
                               staging / f"report_month={m}" / "part-0.parquet")
    else:
        order = ", ".join(columns)
        n = write_parquet(con, f"SELECT {', '.join(columns)} FROM read_parquet({q(warehouse.policy_path(table, month))}) "
                               f"ORDER BY {order}", staging / "part-0.parquet")
    staging.mkdir(parents=True, exist_ok=True)
    return n


def _published_asset(table: str) -> dg.AssetsDefinition:
    upstream = dg.AssetKey([table])

    @dg.asset(
        key=dg.AssetKey(["published", table]),
        group_name="publication",
        kinds={"parquet"},
        deps=[upstream],
        owners=["team:data-engineering"],
        description=f"{DESCRIPTIONS[table]} published/{table}/ (SPEC section 4).",
    )
    def _publish(warehouse: Warehouse) -> dg.MaterializeResult:
        month = warehouse.latest_policy_month(table)
        with warehouse.connect() as con:
            n = publish_table(con, warehouse, table, month)
            rel = con.sql(f"SELECT * FROM read_parquet({q(warehouse.published_dir(table))} || '/**/*.parquet', "
                          "hive_partitioning = true)")
            schema = dg.TableSchema(columns=[dg.TableColumn(c, str(t)) for c, t in zip(rel.columns, rel.types)])
            shown = con.sql(f"SELECT * FROM ({rel.sql_query()}) LIMIT 10").df().to_markdown(index=False)
        lineage = dg.TableColumnLineage(deps_by_column={
            c: [dg.TableColumnDep(asset_key=upstream, column_name=c)] for c in PUBLISHED_COLUMNS[table]})
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(n),
            "dagster/column_schema": schema,
            "dagster/column_lineage": lineage,
            "as_of_month": month,
            "pii_key": warehouse.settings.pii_key_kind,
            "policy_profiles": dg.MetadataValue.json(
                {p.policy_id: p.source_file for p in warehouse.profiles()}),
            "path": dg.MetadataValue.path(str(warehouse.published_dir(table))),
            "preview": dg.MetadataValue.md(shown),
        })

    return _publish


published_assets = [_published_asset(t) for t in PUBLISHED_COLUMNS]
