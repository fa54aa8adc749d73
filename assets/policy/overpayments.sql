-- Repayments beyond what a (uscc, period, component) owes, or with nothing to fill: one row each.
WITH owed AS (
    SELECT uscc, period, component, sum(amount) AS obligations FROM repayment_schedule GROUP BY ALL
), repaid AS (
    SELECT uscc, period, component, sum(amount) AS repayments
    FROM tax_payments WHERE payment_kind = 'repayment'
    GROUP BY ALL
)
SELECT r.uscc, u.unit_id, u.region_code, r.period, r.component,
    coalesce(o.obligations, 0)::DECIMAL(18, 2) AS health_amount, r.repayments::DECIMAL(18, 2) AS tax_amount,
    (coalesce(o.obligations, 0) - r.repayments)::DECIMAL(18, 2) AS difference
FROM repaid r
LEFT JOIN owed o USING (uscc, period, component)
LEFT JOIN units u ON u.uscc = r.uscc
WHERE r.repayments > coalesce(o.obligations, 0)
ORDER BY r.uscc, r.period, r.component
