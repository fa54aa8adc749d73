"""Checks on the policy assets where an invariant holds every report month (blocking: a failure
stops what reads them, publication included).

- ``obligations_add_up_to_ledger`` (repayment_schedule): per unit, period and component, the
  obligations' amounts add up to the ledger's deferred amount (person-level obligations split a
  unit's deferral, they never add to it);
- ``repaid_plus_outstanding_is_amount`` (repayment_schedule): every obligation's repaid and
  outstanding amounts add up to its amount, and neither is negative;
- ``every_overdue_obligation_in_one_notice`` (repayment_notices): each overdue obligation is in
  exactly one overdue notice of its unit, by count and amount;
- ``statuses_add_up`` (unit_status): units by status add up to the units with a ledger deferral,
  and only a unit in arrears is not regarded as paid.
All four read every report month in the warehouse; the metadata names the months and rows that differ.
"""

import dagster as dg

from assets.monthly_sql import rows_each_month
from assets.resources import Warehouse

SCHEDULE = dg.AssetKey(["repayment_schedule"])


@dg.asset_check(
    asset=SCHEDULE,
    blocking=True,
    description=(
        "Per unit, period and component, the obligations add up to the ledger's deferred amount, every report month. "
        "补缴义务合计等于缓缴台账。"
    ),
)
def obligations_add_up_to_ledger(warehouse: Warehouse) -> dg.AssetCheckResult:
    differing = rows_each_month(
        warehouse,
        "repayment_schedule",
        lambda path: (
            f"""
        WITH l AS (SELECT unit_id, period, component, sum(deferred_amount) AS deferred
                   FROM read_parquet({path("deferral_ledger")}) WHERE deferred_amount > 0 GROUP BY ALL),
             s AS (SELECT unit_id, period, component, sum(amount) AS owed FROM
             read_parquet({path("repayment_schedule")}) GROUP BY ALL)
        SELECT unit_id, period, component, coalesce(deferred, 0)::VARCHAR, coalesce(owed, 0)::VARCHAR
        FROM l FULL JOIN s USING (unit_id, period, component)
        WHERE coalesce(deferred, 0) <> coalesce(owed, 0) ORDER BY ALL"""
        ),
    )
    return dg.AssetCheckResult(
        passed=not differing,
        metadata={
            "months_checked": len(warehouse.policy_months("repayment_schedule")),
            "differing": len(differing),
            "examples (month, unit, period, component, ledger, obligations)": dg.MetadataValue.json(
                [list(r) for r in differing[:10]]
            ),
        },
    )


@dg.asset_check(
    asset=SCHEDULE,
    blocking=True,
    description=(
        "Every obligation: repaid + outstanding = amount, neither negative, every report month. "
        "已补缴＋待补缴＝应补缴。"
    ),
)
def repaid_plus_outstanding_is_amount(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = rows_each_month(
        warehouse,
        "repayment_schedule",
        lambda path: (
            f"""
        SELECT obligation_id FROM read_parquet({path("repayment_schedule")})
        WHERE repaid_amount + outstanding_amount <> amount OR repaid_amount < 0 OR outstanding_amount < 0
        ORDER BY ALL"""
        ),
    )
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={"obligations_failing": len(bad), "examples": dg.MetadataValue.json([list(r) for r in bad[:10]])},
    )


@dg.asset_check(
    asset=dg.AssetKey(["repayment_notices"]),
    blocking=True,
    description=(
        "Every overdue obligation is in exactly one overdue notice of its unit (count and amount), every report month. "
        "每笔逾期补缴义务恰好出现在一条逾期催缴提醒中。"
    ),
)
def every_overdue_obligation_in_one_notice(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = rows_each_month(
        warehouse,
        "repayment_notices",
        lambda path: (
            f"""
        WITH s AS (SELECT unit_id, count(*) AS n, sum(outstanding_amount) AS amount
                   FROM read_parquet({path("repayment_schedule")})
                   WHERE is_overdue(due_date, outstanding_amount) GROUP BY unit_id),
             o AS (SELECT unit_id, count(*) AS notices, sum(obligations) AS n, sum(outstanding_amount) AS amount
                   FROM read_parquet({path("repayment_notices")}) WHERE kind = 'overdue' GROUP BY unit_id)
        SELECT unit_id, s.n, o.n, o.notices FROM s FULL JOIN o USING (unit_id)
        WHERE o.notices IS DISTINCT FROM 1 OR s.n IS DISTINCT FROM o.n OR s.amount IS DISTINCT FROM o.amount
        ORDER BY unit_id"""
        ),
    )
    return dg.AssetCheckResult(
        passed=not bad,
        metadata={
            "differing": len(bad),
            "examples (month, unit, overdue obligations, in notices, notices)": dg.MetadataValue.json(
                [[str(v) for v in r] for r in bad[:10]]
            ),
        },
    )


@dg.asset_check(
    asset=dg.AssetKey(["unit_status"]),
    blocking=True,
    description=(
        "Units by status add up to the units with a ledger deferral; regarded_as_paid is false exactly for in_arrears; "
        "every report month. 各状态单位数之和等于缓缴单位数；仅欠费单位不视同足额缴纳。"
    ),
)
def statuses_add_up(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = rows_each_month(
        warehouse,
        "unit_status",
        lambda path: (
            f"""
        WITH l AS (SELECT count(*) AS units FROM (SELECT unit_id FROM read_parquet({path("deferral_ledger")})
                   GROUP BY unit_id HAVING sum(deferred_amount) > 0)),
             s AS (SELECT count(*) AS units, count(DISTINCT unit_id) AS distinct_units,
                          count(*) FILTER (WHERE regarded_as_paid = (status = 'in_arrears')) AS wrong_flag
                   FROM read_parquet({path("unit_status")}))
        SELECT l.units, s.units, s.distinct_units, s.wrong_flag FROM l, s
        WHERE l.units <> s.units OR s.units <> s.distinct_units OR s.wrong_flag > 0"""
        ),
    )
    label = "months_differing (month, ledger units, status rows, distinct units, wrong regarded_as_paid)"
    return dg.AssetCheckResult(passed=not bad, metadata={label: dg.MetadataValue.json([list(r) for r in bad[:10]])})


policy_checks = [
    obligations_add_up_to_ledger,
    repaid_plus_outstanding_is_amount,
    every_overdue_obligation_in_one_notice,
    statuses_add_up,
]
