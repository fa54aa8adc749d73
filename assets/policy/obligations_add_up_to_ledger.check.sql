-- Per unit, period and component: the ledger's deferred amount against the obligations' amounts.
WITH l AS (
    SELECT unit_id, period, component, sum(deferred_amount) AS deferred
    FROM deferral_ledger WHERE deferred_amount > 0 GROUP BY ALL
), s AS (
    SELECT unit_id, period, component, sum(amount) AS owed FROM repayment_schedule GROUP BY ALL
)
SELECT unit_id, period, component, coalesce(deferred, 0), coalesce(owed, 0)
FROM l FULL JOIN s USING (unit_id, period, component)
WHERE coalesce(deferred, 0) <> coalesce(owed, 0)
ORDER BY ALL
