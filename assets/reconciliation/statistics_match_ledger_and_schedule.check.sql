-- One row when the provinces' 'all' rows do not total what the ledger and the schedule hold.
WITH s AS (
    SELECT [coalesce(sum(deferred_amount), 0), coalesce(sum(cumulative_deferred), 0),
            coalesce(sum(cumulative_repaid), 0), coalesce(sum(outstanding), 0),
            coalesce(sum(overdue_outstanding), 0), coalesce(sum(late_fee), 0)] AS totals
    FROM monthly_statistics
    WHERE category = 'all' AND region_code IN (SELECT DISTINCT province_code FROM policy_regions)
), l AS (
    SELECT coalesce(sum(deferred_amount) FILTER (WHERE period = report_month()), 0) AS in_month,
        coalesce(sum(deferred_amount), 0) AS cumulative
    FROM deferral_ledger
), k AS (
    SELECT coalesce(sum(repaid_amount), 0) AS repaid, coalesce(sum(outstanding_amount), 0) AS outstanding,
        coalesce(sum(outstanding_amount) FILTER (WHERE status = 'overdue'), 0) AS overdue,
        coalesce(sum(late_fee), 0) AS late_fee
    FROM repayment_schedule
)
SELECT s.totals, [l.in_month, l.cumulative, k.repaid, k.outstanding, k.overdue, k.late_fee]
FROM s, l, k
WHERE s.totals <> [l.in_month, l.cumulative, k.repaid, k.outstanding, k.overdue, k.late_fee]
