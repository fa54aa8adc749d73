"""Policy assets (缓缴政策计算): from clean inputs to the deferral list, ledger and repayment schedule.

Each asset runs the ``.sql`` file named after it on DuckDB over its upstream Parquet. Assets
partitioned by report month compute the state as of that month's last day and write
``warehouse/policy/<asset>/<YYYY-MM>.parquet``; a backfill over many months runs as one run
(``BackfillPolicy.single_run``) that loops over the months. Rules come from the policy profiles
(as the table ``policy_regions``), never from code branches on a policy_id.
"""

import dagster as dg
import duckdb

from assets.ingest.assets import ingest_key
import time
import warnings
from pathlib import Path

from assets.policy.engine import SQL_DIR, prepare, render
from assets.storage import q, write_parquet
from assets.partitions import report_months
from assets.resources import Warehouse

GROUP = "policy"
# backfill_policy is marked beta in Dagster 1.13; single-run backfills are what monthly operation needs.
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def preview(con: duckdb.DuckDBPyConnection, path) -> dg.MetadataValue:
    df = con.execute(f"SELECT * FROM read_parquet({q(path)}) LIMIT 10").df()
    return dg.MetadataValue.md(df.to_markdown(index=False))


def counts_by(con: duckdb.DuckDBPyConnection, path, column: str) -> dict[str, int]:
    rows = con.execute(f"SELECT {column}::VARCHAR, count(*) FROM read_parquet({q(path)}) GROUP BY 1 ORDER BY 1").fetchall()
    return {str(k): int(n) for k, n in rows}


@dg.asset(group_name=GROUP, kinds={"duckdb", "parquet"}, owners=["team:data-engineering"])
def policy_regions(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every pooling region with its profile's parameters (one row per region), from the policy
    profile files. 各统筹地区适用的缓缴政策参数（来自政策配置文件，逐条注明文件条款）。"""
    profiles = warehouse.profiles()
    rows = [
        (region, p.policy_id, p.province_code, p.first_period, p.window_periods, list(p.components),
         p.shift_if_first_period_paid, p.refund_first_period_option, p.repayment_rule, p.repayment_fixed_date,
         p.late_fee_daily_rate, p.reserve_months, p.reserve_strictly_greater)
        for p in profiles for region in p.regions
    ]
    path = warehouse.policy_path("policy_regions")
    with warehouse.connect() as con:
        con.execute(
            "CREATE TEMP TABLE pr (region_code VARCHAR, policy_id VARCHAR, province_code VARCHAR, first_period VARCHAR, "
            "window_periods INTEGER, components VARCHAR[], shift_if_first_period_paid BOOLEAN, "
            "refund_first_period_option BOOLEAN, repayment_rule VARCHAR, repayment_fixed_date DATE, "
            "late_fee_daily_rate DECIMAL(10, 6), reserve_months DECIMAL(10, 2), reserve_strictly_greater BOOLEAN)")
        con.executemany("INSERT INTO pr VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        n = write_parquet(con, "SELECT * FROM pr ORDER BY region_code", path)
        shown = preview(con, path)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n,
        "profiles": dg.MetadataValue.json({p.policy_id: {"file": p.source_file, "clauses": p.clauses} for p in profiles}),
        "preview": shown,
    })


def run_month(con, warehouse: Warehouse, name: str, month: str, log=None, extra_outputs=(),
              sql_dir: Path = SQL_DIR) -> int:
    """Runs ``<name>.sql`` as of ``month`` and writes its rows (and any named temp tables)."""
    params = prepare(con, warehouse, month, log)
    *setup, query = render(name, params, sql_dir)
    for statement in setup:
        con.execute(statement)
    for extra in extra_outputs:
        write_parquet(con, f"SELECT * FROM {extra}", warehouse.policy_path(f"repayment_{extra}", month))
    return write_parquet(con, query, warehouse.policy_path(name, month))


def monthly_sql_asset(name: str, deps: list, description: str, count_by: str | None = None,
                      group: str = GROUP, extra_outputs: tuple[str, ...] = (), sql_dir: Path = SQL_DIR):
    @dg.asset(
        name=name,
        group_name=group,
        kinds={"duckdb", "parquet"},
        deps=deps,
        description=description,
        owners=["team:data-engineering"],
        partitions_def=report_months,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        rows_by_month: dict[str, int] = {}
        with warehouse.connect() as con:
            for month in context.partition_keys:
                started = time.monotonic()
                rows_by_month[month] = run_month(con, warehouse, name, month, context.log, extra_outputs, sql_dir)
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


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey([name])


region_eligibility = monthly_sql_asset(
    "region_eligibility", [policy_regions, ingest_key("fund_reserves"), ingest_key("units")],
    "Region condition: months payable from the latest reserve row before the first period; eligible when "
    "strictly above 6. 统筹地区条件：缓缴前最近一期统筹基金可支付月数大于6个月。", count_by="eligible")
sme_classification = monthly_sql_asset(
    "sme_classification", [ingest_key("units"), ingest_key("sme_classifications"), ingest_key("commitments")],
    "Enterprise size by register, else 300号 indicators, else commitment, with its source. "
    "企业划型：统计/市场监管划型，其次按300号指标，再次按承诺书。", count_by="classification")
deferral_decisions = monthly_sql_asset(
    "deferral_decisions",
    [policy_regions, _key("region_eligibility"), _key("sme_classification"), ingest_key("units"),
     ingest_key("elections"), ingest_key("tax_payments")],
    "The deferral list: one decision per unit with its reason, basis and window. "
    "缓缴名单：每个参保单位一条，注明原因、依据（免申即享/承诺）与缓缴期。", count_by="reason")
deferral_ledger = monthly_sql_asset(
    "deferral_ledger",
    [_key("deferral_decisions"), ingest_key("contributions"), ingest_key("tax_payments")],
    "Deferred amounts per unit, window period and component: assessed - regular payments + refunds. "
    "缓缴台账：单位×费款所属期×险种的核定、已缴、退费与缓缴金额。", count_by="component")
repayment_schedule = monthly_sql_asset(
    "repayment_schedule",
    [_key("deferral_ledger"), _key("deferral_decisions"), ingest_key("employee_events"), ingest_key("contributions"),
     ingest_key("tax_payments"), ingest_key("units")],
    "Repayment obligations: per-person shares on departure, retirement or transfer, the unit-level remainder, "
    "deregistration caps; repayments allocated earliest due first; status and late fee. "
    "补缴计划：职工离职/退休/转移个人份额、单位应补缴余额、注销提前；补缴按到期先后冲抵；状态与滞纳金。",
    count_by="status", extra_outputs=("allocations",))
overpayments = monthly_sql_asset(
    "overpayments", [_key("repayment_schedule"), ingest_key("tax_payments"), ingest_key("units")],
    "Repayments beyond what a unit owed for a period and component. 超额补缴。")
fund_reserve_status = monthly_sql_asset(
    "fund_reserve_status", [_key("region_eligibility"), _key("repayment_schedule")],
    "Per pooling region: months payable, eligibility, outstanding deferred amount and months payable after "
    "deferral. 统筹基金：可支付月数、是否符合条件、待补缴金额及扣除后可支付月数。")

policy_assets = [policy_regions, region_eligibility, sme_classification, deferral_decisions, deferral_ledger,
                 repayment_schedule, overpayments, fund_reserve_status]
