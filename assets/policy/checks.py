"""Checks on the policy assets where an invariant holds every report month (blocking: a failure
stops what reads them, publication included).

- ``obligations_add_up_to_ledger`` (repayment_schedule): per unit, period and component, the
  obligations' amounts add up to the ledger's deferred amount (person-level obligations split a
  unit's deferral, they never add to it);
- ``repaid_plus_outstanding_is_amount`` (repayment_schedule): every obligation's repaid and
  outstanding amounts add up to its amount, and neither is negative.
Both read every report month in the warehouse; the metadata names the months and rows that differ.
"""

import dagster as dg

from assets.resources import Warehouse
from assets.storage import q

SCHEDULE = dg.AssetKey(["repayment_schedule"])


@dg.asset_check(asset=SCHEDULE, blocking=True, description=(
    "Per unit, period and component, the obligations add up to the ledger's deferred amount, every report month. "
    "补缴义务合计等于缓缴台账。"))
def obligations_add_up_to_ledger(warehouse: Warehouse) -> dg.AssetCheckResult:
    differing = []
    with warehouse.connect() as con:
        for month in warehouse.policy_months("repayment_schedule"):
            ledger, schedule = (q(warehouse.policy_path(n, month)) for n in ("deferral_ledger", "repayment_schedule"))
            differing += con.execute(f"""
                WITH l AS (SELECT unit_id, period, component, sum(deferred_amount) AS deferred
                           FROM read_parquet({ledger}) WHERE deferred_amount > 0 GROUP BY ALL),
                     s AS (SELECT unit_id, period, component, sum(amount) AS owed FROM read_parquet({schedule}) GROUP BY ALL)
                SELECT '{month}', unit_id, period, component, coalesce(deferred, 0)::VARCHAR, coalesce(owed, 0)::VARCHAR
                FROM l FULL JOIN s USING (unit_id, period, component)
                WHERE coalesce(deferred, 0) <> coalesce(owed, 0) ORDER BY ALL""").fetchall()
    return dg.AssetCheckResult(passed=not differing, metadata={
        "months_checked": len(warehouse.policy_months("repayment_schedule")), "differing": len(differing),
        "examples (month, unit, period, component, ledger, obligations)": dg.MetadataValue.json(
            [list(r) for r in differing[:10]])})


@dg.asset_check(asset=SCHEDULE, blocking=True, description=(
    "Every obligation: repaid + outstanding = amount, neither negative, every report month. 已补缴＋待补缴＝应补缴。"))
def repaid_plus_outstanding_is_amount(warehouse: Warehouse) -> dg.AssetCheckResult:
    bad = []
    with warehouse.connect() as con:
        for month in warehouse.policy_months("repayment_schedule"):
            bad += con.execute(f"""
                SELECT '{month}', obligation_id FROM read_parquet({q(warehouse.policy_path('repayment_schedule', month))})
                WHERE repaid_amount + outstanding_amount <> amount OR repaid_amount < 0 OR outstanding_amount < 0
                ORDER BY ALL""").fetchall()
    return dg.AssetCheckResult(passed=not bad, metadata={"obligations_failing": len(bad),
                                                         "examples": dg.MetadataValue.json([list(r) for r in bad[:10]])})


policy_checks = [obligations_add_up_to_ledger, repaid_plus_outstanding_is_amount]
