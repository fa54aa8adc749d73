-- Per region: months payable before the window, eligibility, the outstanding deferred amount
-- as of the as-of date, and months payable after deferral ((balance - outstanding) / expenditure).
SELECT r.region_code, r.policy_id, r.as_of_month, r.months_payable, r.eligible,
    coalesce(o.outstanding, 0)::DECIMAL(18, 2) AS outstanding_deferred,
    fen_quotient(r.accumulated_balance - coalesce(o.outstanding, 0), r.avg_monthly_expenditure) AS months_payable_after_deferral
FROM region_eligibility r
LEFT JOIN (SELECT region_code, sum(outstanding_amount) AS outstanding FROM repayment_schedule GROUP BY ALL) o USING (region_code)
ORDER BY r.region_code
