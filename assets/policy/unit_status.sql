-- Unit payment status (缴费状态) as of the report month's last day D (SPEC section 6): one row per
-- unit with a ledger deferral up to D. in_arrears: an obligation overdue with something
-- outstanding; else repaid: nothing outstanding; else deferring: D is within the unit's window
-- (as decided at D); else repaying. Only in_arrears is not regarded as paid (不作欠费处理).
WITH deferred AS (
    SELECT unit_id, sum(deferred_amount) AS deferred_amount
    FROM deferral_ledger GROUP BY unit_id HAVING sum(deferred_amount) > 0
), owed AS (
    SELECT unit_id, sum(repaid_amount) AS repaid_amount, sum(outstanding_amount) AS outstanding_amount,
        sum(outstanding_amount) FILTER (WHERE is_overdue(due_date, outstanding_amount)) AS overdue_amount,
        sum(late_fee) AS late_fee
    FROM repayment_schedule GROUP BY unit_id
)
SELECT report_month() AS report_month, d.unit_id, u.uscc, u.region_code,
    CASE WHEN coalesce(o.overdue_amount, 0) > 0 THEN 'in_arrears'
         WHEN coalesce(o.outstanding_amount, 0) = 0 THEN 'repaid'
         WHEN as_of_date() <= last_day_of(u.window_end) THEN 'deferring'
         ELSE 'repaying' END AS status,
    coalesce(o.overdue_amount, 0) = 0 AS regarded_as_paid,
    d.deferred_amount::DECIMAL(18, 2) AS deferred_amount,
    coalesce(o.repaid_amount, 0)::DECIMAL(18, 2) AS repaid_amount,
    coalesce(o.outstanding_amount, 0)::DECIMAL(18, 2) AS outstanding_amount,
    coalesce(o.overdue_amount, 0)::DECIMAL(18, 2) AS overdue_amount,
    coalesce(o.late_fee, 0)::DECIMAL(18, 2) AS late_fee
FROM deferred d
JOIN deferral_decisions u USING (unit_id)
LEFT JOIN owed o USING (unit_id)
ORDER BY d.unit_id
