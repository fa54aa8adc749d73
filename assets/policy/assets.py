"""Policy assets (缓缴政策计算): from clean inputs to the deferral list, ledger and repayment schedule.

Each asset runs the ``.sql`` file named after it on DuckDB over its upstream Parquet. Assets
partitioned by province and report month compute the state as of that month's last day and write
``warehouse/policy/<asset>/<YYYY-MM>/<policy_id>.parquet``; a backfill over many months runs as one run
(``BackfillPolicy.single_run``) that loops over the months. Rules come from the policy profiles
(as the table ``policy_regions``), never from code branches on a policy_id.
"""

from pathlib import Path

import dagster as dg

from assets.month_steps import monthly_sql_assets
from assets.monthly_sql import preview, side_outputs, summary_sql_assets
from assets.policy.thresholds import sme_thresholds
from assets.resources import Warehouse
from assets.storage import sql_statements, write_parquet

GROUP = "policy"
SQL_DIR = Path(__file__).parent


@dg.asset(group_name=GROUP, kinds={"duckdb", "parquet"}, owners=["team:data-engineering"])
def policy_regions(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every pooling region with its profile's parameters (one row per region), from the policy
    profile files. 各统筹地区适用的缓缴政策参数（来自政策配置文件，逐条注明文件条款）。"""
    profiles = warehouse.profiles()
    rows = [
        (
            region,
            p.policy_id,
            p.province_code,
            p.first_period,
            p.window_periods,
            list(p.components),
            p.shift_if_first_period_paid,
            p.refund_first_period_option,
            p.repayment_rule,
            p.repayment_fixed_date,
            p.late_fee_daily_rate,
            p.reserve_months,
            p.reserve_strictly_greater,
            p.risk_headcount_ratio,
        )
        for p in profiles
        for region in p.regions
    ]
    path = warehouse.policy_path("policy_regions")
    with warehouse.connect() as con:
        con.execute(
            "CREATE TEMP TABLE pr (region_code VARCHAR, policy_id VARCHAR, province_code VARCHAR, first_period "
            "VARCHAR, "
            "window_periods INTEGER, components VARCHAR[], shift_if_first_period_paid BOOLEAN, "
            "refund_first_period_option BOOLEAN, repayment_rule VARCHAR, repayment_fixed_date DATE, "
            "late_fee_daily_rate DECIMAL(10, 6), reserve_months DECIMAL(10, 2), reserve_strictly_greater BOOLEAN, "
            "risk_headcount_ratio DECIMAL(4, 2))"
        )
        con.executemany("INSERT INTO pr VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        n = write_parquet(con, "SELECT * FROM pr ORDER BY region_code", path)
        shown = preview(con, path)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": n,
            # each profile by id, file name and content hash (its version), never a local path
            "profiles": dg.MetadataValue.json(
                {
                    p.policy_id: {
                        "file": Path(p.source_file).name,
                        "sha256": p.content_hash,
                        "clauses": p.clauses,
                        "city_measures": [m.model_dump(mode="json") for m in p.city_measures],
                    }
                    for p in profiles
                }
            ),
            "preview": shown,
        }
    )


@dg.asset(group_name=GROUP, kinds={"duckdb", "parquet"}, owners=["team:data-engineering"])
def city_measures(warehouse: Warehouse) -> dg.MaterializeResult:
    """Cities' own deferral measures filed with the province (SPEC section 8), from the profiles: a
    region's later lump-sum date or instalments, applied from the day each was filed; empty when no
    profile holds one. 各市缓缴办法（报省备案）：自备案之日起适用的补缴期限或分期补缴。"""
    rows = [
        (
            m.region_code,
            p.policy_id,
            m.filed_as,
            m.filed_on,
            m.repayment.kind,
            m.repayment.instalments,
            m.repayment.first_due,
            listed,
        )
        for p in warehouse.profiles()
        for listed, m in enumerate(p.city_measures)
    ]
    path = warehouse.policy_path("city_measures")
    with warehouse.connect() as con:
        con.execute(
            "CREATE TEMP TABLE cm (region_code VARCHAR, policy_id VARCHAR, filed_as VARCHAR, filed_on DATE, "
            "kind VARCHAR, instalments INTEGER, first_due DATE, listed INTEGER)"
        )
        if rows:
            con.executemany("INSERT INTO cm VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        n = write_parquet(con, "SELECT * FROM cm ORDER BY policy_id, listed", path)
        shown = preview(con, path)
    return dg.MaterializeResult(metadata={"dagster/row_count": n, "preview": shown})


def person_keys(con) -> None:
    """The table ``person_keys`` (person_keys.sql), from the province's employee events: a static
    input, made once per report-month step and province."""
    for statement in sql_statements(SQL_DIR / "person_keys.sql"):
        con.execute(statement)


policy_assets = [
    policy_regions,
    city_measures,
    *summary_sql_assets(GROUP, SQL_DIR),
    *monthly_sql_assets(GROUP, SQL_DIR, static={"sme_thresholds": sme_thresholds, "person_keys": person_keys}),
]
# what this stage writes beside its assets' own outputs (the repayment allocations), for later stages
SIDE_OUTPUTS = side_outputs(SQL_DIR)
