-- Per eligible unit x window period (up to the as-of month) x deferred component:
-- deferred = assessed - regular payments + refunds, floored at 0 (SPEC section 3).
WITH d AS (
    SELECT d.unit_id, d.uscc, d.region_code, d.window_start, d.window_end, p.components
    FROM deferral_decisions d JOIN policy_regions p USING (region_code)
    WHERE d.eligible
), cells AS (
    -- the window's periods through the report month: k = 0 .. the months from its start to the earlier end
    SELECT unit_id, uscc, region_code, add_months_p(window_start, k) AS period, unnest(components) AS component
    FROM (SELECT *, unnest(range(0, least(months_from(window_start, least(window_end, report_month())), 23) + 1)) AS k
          FROM d)
), assessed AS (
    SELECT * FROM unit_period_contributions WHERE unit_id IN (SELECT unit_id FROM d)
), payments AS (
    SELECT uscc, period, component,
        sum(amount) FILTER (WHERE payment_kind = 'regular') AS paid,
        sum(amount) FILTER (WHERE payment_kind = 'refund') AS refunded
    FROM tax_payments
    -- only the cells' payments are summed (a province's payments are millions of rows, its cells fewer)
    SEMI JOIN cells USING (uscc, period, component)
    WHERE payment_kind IN ('regular', 'refund')
        -- the windows' periods bound the search first (a cheap test on every payment, the join on the few left)
        AND period BETWEEN (SELECT min(window_start) FROM d) AND (SELECT max(window_end) FROM d)
    GROUP BY ALL
), amounts AS (
    SELECT c.unit_id, c.uscc, c.region_code, c.period, c.component,
        coalesce(CASE c.component WHEN 'employer_medical' THEN a.employer_medical
                                  WHEN 'employer_maternity' THEN a.employer_maternity
                                  ELSE a.employee_medical END, 0)::DECIMAL(18, 2) AS assessed_amount,
        coalesce(p.paid, 0)::DECIMAL(18, 2) AS paid_amount,
        coalesce(p.refunded, 0)::DECIMAL(18, 2) AS refunded_amount,
        coalesce(a.persons, 0)::BIGINT AS insured_persons
    FROM cells c
    LEFT JOIN assessed a USING (unit_id, period)
    LEFT JOIN payments p ON p.uscc = c.uscc AND p.period = c.period AND p.component = c.component
)
SELECT unit_id, uscc, region_code, period, component, assessed_amount, paid_amount, refunded_amount,
    greatest(assessed_amount - paid_amount + refunded_amount, 0)::DECIMAL(18, 2) AS deferred_amount,
    insured_persons
FROM amounts
ORDER BY unit_id, period, component
