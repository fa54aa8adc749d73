-- Health's ledger against the tax deferral register (full outer join on uscc, period, component,
-- to the fen), plus overpayments and employee-share arrears, as of the report month.
WITH known_units AS (
    SELECT unit_id, uscc, region_code FROM units
), tax AS (
    SELECT uscc, period, component, deferred_amount FROM tax_deferral_register
), joined AS (
    SELECT coalesce(h.uscc, t.uscc) AS uscc, h.unit_id, h.region_code,
        coalesce(h.period, t.period) AS period, coalesce(h.component, t.component) AS component,
        h.deferred_amount AS health_amount, t.deferred_amount AS tax_amount
    FROM deferral_ledger h
    FULL JOIN tax t ON h.uscc = t.uscc AND h.period = t.period AND h.component = t.component
), ledger_cells AS (
    -- the ledger's unit periods: only their employee-share payments are summed, not the province's all
    SELECT DISTINCT uscc, unit_id, region_code, period FROM deferral_ledger
), register AS (
    SELECT j.uscc, coalesce(j.unit_id, u.unit_id) AS unit_id, coalesce(j.region_code, u.region_code) AS region_code,
        j.period, j.component,
        CASE WHEN j.health_amount IS NULL THEN 'missing_in_health'
             WHEN j.tax_amount IS NULL THEN 'missing_in_tax'
             ELSE 'amount_mismatch' END AS kind,
        j.health_amount, j.tax_amount
    FROM joined j LEFT JOIN known_units u ON u.uscc = j.uscc
    -- a ledger row with nothing deferred needs no register row
    WHERE j.health_amount IS NULL
       OR (j.tax_amount IS NULL AND j.health_amount > 0)
       OR j.health_amount <> j.tax_amount
), employee_share AS (
    SELECT l.uscc, l.unit_id, l.region_code, l.period, 'employee_medical' AS component,
        'employee_share_unpaid' AS kind, a.assessed AS health_amount, coalesce(p.paid, 0)::DECIMAL(18, 2) AS tax_amount
    FROM ledger_cells l
    JOIN (SELECT unit_id, period, employee_medical::DECIMAL(18, 2) AS assessed FROM unit_period_contributions) a
        USING (unit_id, period)
    LEFT JOIN (SELECT uscc, period, sum(amount) AS paid FROM tax_payments SEMI JOIN ledger_cells USING (uscc, period)
               WHERE payment_kind = 'regular' AND component = 'employee_medical'
               GROUP BY ALL) p USING (uscc, period)
    WHERE a.assessed > coalesce(p.paid, 0)
)
SELECT uscc, unit_id, region_code, period, component, kind, health_amount, tax_amount,
    (coalesce(health_amount, 0) - coalesce(tax_amount, 0))::DECIMAL(18, 2) AS difference
FROM (
    SELECT * FROM register
    UNION ALL SELECT * FROM employee_share
    UNION ALL SELECT uscc, unit_id, region_code, period, component, 'overpayment', health_amount, tax_amount FROM overpayments
)
ORDER BY kind, uscc, period, component
