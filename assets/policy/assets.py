"""Policy assets (缓缴政策计算): from clean inputs to the deferral list, ledger and repayment schedule.

Each asset runs the ``.sql`` file named after it on DuckDB over its upstream Parquet and writes
``warehouse/policy/<asset>.parquet``. Rules come from the policy profiles (as the table
``policy_regions``), never from code branches on a policy_id.
"""

import dagster as dg
import duckdb

from assets.ingest.assets import ingest_key
from assets.policy.engine import prepare, render
from assets.storage import scalar, write_parquet
from pipelines.resources import Warehouse

GROUP = "policy"


def _preview(con: duckdb.DuckDBPyConnection, path) -> dg.MetadataValue:
    df = con.execute(f"SELECT * FROM read_parquet('{path}') LIMIT 10").df()
    return dg.MetadataValue.md(df.to_markdown(index=False))


def _counts(con: duckdb.DuckDBPyConnection, path, column: str) -> dict[str, int]:
    rows = con.execute(f"SELECT {column}::VARCHAR, count(*) FROM read_parquet('{path}') GROUP BY 1 ORDER BY 1").fetchall()
    return {str(k): int(n) for k, n in rows}


@dg.asset(
    group_name=GROUP,
    kinds={"duckdb", "parquet"},
    owners=["team:data-engineering"],
)
def policy_regions(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
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
        preview = _preview(con, path)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": n,
        "profiles": dg.MetadataValue.json({p.policy_id: {"file": p.source_file, "clauses": p.clauses} for p in profiles}),
        "preview": preview,
    })


def _sql_asset(name: str, deps: list, description: str, count_by: str | None = None):
    @dg.asset(
        name=name,
        group_name=GROUP,
        kinds={"duckdb", "parquet"},
        deps=deps,
        description=description,
        owners=["team:data-engineering"],
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        path = warehouse.policy_path(name)
        with warehouse.connect() as con:
            params = prepare(con, warehouse, context.log)
            n = write_parquet(con, render(name, params), path)
            metadata = {
                "dagster/row_count": dg.MetadataValue.int(n),
                "as_of_month": params["as_of_month"],
                "path": dg.MetadataValue.path(str(path)),
                "preview": _preview(con, path),
            }
            if count_by:
                metadata[f"rows_by_{count_by}"] = dg.MetadataValue.json(_counts(con, path, count_by))
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey([name])


region_eligibility = _sql_asset(
    "region_eligibility", [policy_regions, ingest_key("fund_reserves"), ingest_key("units")],
    "Region condition: months payable from the latest reserve row before the first period; eligible when "
    "strictly above 6. 统筹地区条件：缓缴前最近一期统筹基金可支付月数大于6个月。", count_by="eligible")
sme_classification = _sql_asset(
    "sme_classification", [ingest_key("units"), ingest_key("sme_classifications"), ingest_key("commitments")],
    "Enterprise size by register, else 300号 indicators, else commitment, with its source. "
    "企业划型：统计/市场监管划型，其次按300号指标，再次按承诺书。", count_by="classification")
deferral_decisions = _sql_asset(
    "deferral_decisions",
    [policy_regions, _key("region_eligibility"), _key("sme_classification"), ingest_key("units"),
     ingest_key("elections"), ingest_key("tax_payments")],
    "The deferral list: one decision per unit with its reason, basis and window. "
    "缓缴名单：每个参保单位一条，注明原因、依据（免申即享/承诺）与缓缴期。", count_by="reason")
deferral_ledger = _sql_asset(
    "deferral_ledger",
    [_key("deferral_decisions"), ingest_key("contributions"), ingest_key("tax_payments")],
    "Deferred amounts per unit, window period and component: assessed - regular payments + refunds. "
    "缓缴台账：单位×费款所属期×险种的核定、已缴、退费与缓缴金额。", count_by="component")
repayment_schedule = _sql_asset(
    "repayment_schedule",
    [_key("deferral_ledger"), _key("deferral_decisions"), ingest_key("employee_events"), ingest_key("contributions"),
     ingest_key("tax_payments"), ingest_key("units")],
    "Repayment obligations: per-person shares on departure, retirement or transfer, the unit-level remainder, "
    "deregistration caps; repayments allocated earliest due first; status and late fee. "
    "补缴计划：职工离职/退休/转移个人份额、单位应补缴余额、注销提前；补缴按到期先后冲抵；状态与滞纳金。",
    count_by="status")
overpayments = _sql_asset(
    "overpayments", [_key("repayment_schedule"), ingest_key("tax_payments"), ingest_key("units")],
    "Repayments beyond what a unit owed for a period and component. 超额补缴。")
fund_reserve_status = _sql_asset(
    "fund_reserve_status", [_key("region_eligibility"), _key("repayment_schedule")],
    "Per pooling region: months payable, eligibility, outstanding deferred amount and months payable after "
    "deferral. 统筹基金：可支付月数、是否符合条件、待补缴金额及扣除后可支付月数。")

policy_assets = [policy_regions, region_eligibility, sme_classification, deferral_decisions, deferral_ledger,
                 repayment_schedule, overpayments, fund_reserve_status]
