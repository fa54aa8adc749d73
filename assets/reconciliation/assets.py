"""Reconciliation and statistics (对账与统计), per report month, with their checks.

Health's plan against the tax register, the plan health sends to tax (分户传递), and the monthly
statistics both bureaus confirm before reporting (双方对统计结果协商确认后上报).
"""

from pathlib import Path

import dagster as dg

from assets.month_checks import invariant_checks
from assets.month_steps import monthly_sql_assets
from assets.policy.assets import SIDE_OUTPUTS
from assets.resources import Warehouse
from assets.storage import q

GROUP = "reconciliation"
SQL_DIR = Path(__file__).parent

reconciliation_assets = monthly_sql_assets(GROUP, SQL_DIR, upstream=SIDE_OUTPUTS)
reconciliation_discrepancies, deferral_plan, risk_watch, monthly_statistics = reconciliation_assets


@dg.asset_check(
    asset=reconciliation_discrepancies,
    description=(
        "Fails, as a warning, while health and tax disagree: counts by kind for the latest report month. "
        "医保与税务存在差异时告警。"
    ),
)
def reconciliation_clean(warehouse: Warehouse) -> dg.AssetCheckResult:
    month = warehouse.policy_months("reconciliation_discrepancies")[-1]
    with warehouse.connect() as con:
        rows = con.execute(
            f"SELECT kind, count(*) FROM "
            f"read_parquet({q(warehouse.policy_path('reconciliation_discrepancies', month))}) "
            "GROUP BY kind ORDER BY kind"
        ).fetchall()
    by_kind = {k: n for k, n in rows}
    return dg.AssetCheckResult(
        passed=not by_kind,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "report_month": month,
            "by_kind": dg.MetadataValue.json(by_kind),
            "discrepancies": sum(by_kind.values()),
        },
    )


ADDITIVE = [
    "units_deferring",
    "deferred_amount",
    "cumulative_deferred",
    "repaid_in_month",
    "cumulative_repaid",
    "outstanding",
    "overdue_outstanding",
    "late_fee",
    "tax_units_deferring",
    "tax_deferred_amount",
    "discrepancies",
    "units_in_arrears",
    "units_flagged",
]


@dg.asset_check(
    asset=monthly_statistics,
    blocking=True,
    description=(
        "Every province row equals the sum of its regions' rows (all columns but persons, which are distinct). "
        "全省数据等于各统筹地区之和。"
    ),
)
def province_equals_sum_of_regions(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = []
    with warehouse.connect() as con:
        regions = q(warehouse.policy_path("policy_regions"))
        for month in warehouse.policy_months("monthly_statistics"):
            bad += province_mismatches(
                con,
                f"SELECT *, '{month}' AS report_month FROM read_parquet("
                f"{q(warehouse.policy_path('monthly_statistics', month))})",
                regions,
            )
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"rows_differing": dg.MetadataValue.json([list(b) for b in bad[:20]]), "count": len(bad)},
    )


def province_mismatches(con, stats: str, regions: str) -> list[tuple]:
    """(report_month, province, category) rows of ``stats`` (a query over monthly_statistics rows
    with report_month) whose additive columns differ from the sum of the province's regions."""
    sums = ", ".join(f"sum({c}) AS {c}" for c in ADDITIVE)
    differs = " OR ".join(f"p.{c} <> r.{c}" for c in ADDITIVE)
    return con.execute(f"""
        WITH s AS ({stats}),
        r AS (SELECT s.report_month, pr.province_code AS region_code, s.category, {sums}
              FROM s JOIN read_parquet({regions}) pr USING (region_code) GROUP BY ALL)
        SELECT p.report_month, p.region_code, p.category FROM s p JOIN r USING (report_month, region_code, category)
        WHERE {differs} ORDER BY ALL""").fetchall()


reconciliation_checks = [reconciliation_clean, province_equals_sum_of_regions, *invariant_checks(SQL_DIR)]
