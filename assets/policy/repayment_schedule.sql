-- Obligations (SPEC sections 3, 5 and 8): each departing, retiring or transferring person's
-- share, the unit-level remainder (in k instalments under a city measure), due dates capped by a
-- known deregistration; repayments allocated earliest due date first; status and late fee as of
-- the as-of date. The allocations are kept (warehouse/policy/repayment_allocations/) for monthly
-- statistics. This is the one place the instalment rule lives: every asset reads due dates here.
CREATE OR REPLACE TEMP TABLE filled AS
WITH d AS (
    SELECT d.unit_id, d.uscc, d.region_code, d.window_start, d.window_end, p.late_fee_daily_rate,
        d.unit_due_date AS unit_due, d.deregistered_on, d.measure,
        -- k instalments under a measure of instalments; NULL: a lump sum
        TRY_CAST(nullif(split_part(d.repayment_terms, ':', 2), '') AS INTEGER) AS instalments
    FROM deferral_decisions d
    JOIN policy_regions p USING (region_code)
    WHERE d.eligible
), events AS (
    SELECT e.unit_id, e.person_id, e.event_type, e.event_date
    FROM employee_events e JOIN d USING (unit_id)
    WHERE e.event_date >= first_day_of(d.window_start) AND e.event_date <= d.unit_due
    QUALIFY row_number() OVER (
        PARTITION BY e.unit_id, e.person_id
        ORDER BY e.event_date, CASE e.event_type WHEN 'departure' THEN 1 WHEN 'retirement' THEN 2 ELSE 3 END) = 1
), person_assessed AS (
    SELECT c.unit_id, c.person_id, c.period, x.component, x.amount
    FROM event_person_contributions c
    JOIN events USING (unit_id, person_id)
    CROSS JOIN LATERAL (VALUES ('employer_medical', c.employer_medical), ('employer_maternity', c.employer_maternity)) x(component, amount)
    WHERE x.amount > 0
), ledger AS (
    SELECT * FROM deferral_ledger WHERE deferred_amount > 0
), shares AS (
    SELECT l.unit_id, l.uscc, l.region_code, l.period, l.component, e.person_id, e.person_key, e.event_type,
        e.event_date, half_up_share(pa.amount, l.deferred_amount, l.assessed_amount) AS amount
    FROM ledger l
    JOIN person_assessed pa USING (unit_id, period, component)
    -- each person keyed once a step, not once an obligation (person_keys.sql)
    JOIN (SELECT events.*, k.person_key FROM events LEFT JOIN person_keys k USING (person_id)) e
        ON e.unit_id = pa.unit_id AND e.person_id = pa.person_id
), remainders AS (
    SELECT l.unit_id, l.uscc, l.region_code, l.period, l.component, d.unit_due, d.instalments,
        CAST((l.deferred_amount - coalesce(s.total, 0)) * 100 AS BIGINT) AS fen
    FROM ledger l
    JOIN d USING (unit_id)
    LEFT JOIN (SELECT unit_id, period, component, sum(amount) AS total FROM shares WHERE amount > 0 GROUP BY ALL) s
        USING (unit_id, period, component)
    WHERE l.deferred_amount - coalesce(s.total, 0) > 0
), instalments AS (
    -- SPEC section 8: k instalments of floor(A x 100 / k) fen, the remaining fen on instalment 1; instalment 1
    -- due D1, instalment i the last day of the month i - 1 months after D1's month (a lump sum: one, due D1)
    SELECT r.*, i.i AS instalment,
        ((r.fen // coalesce(r.instalments, 1)
          + CASE WHEN i.i = 1 THEN r.fen % coalesce(r.instalments, 1) ELSE 0 END) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2) AS amount,
        CASE WHEN i.i = 1 THEN r.unit_due
             ELSE last_day(date_trunc('month', r.unit_due) + to_months(i.i - 1))::DATE END AS due_date
    FROM remainders r
    CROSS JOIN LATERAL (SELECT unnest(range(1, coalesce(r.instalments, 1) + 1)) AS i) i
), obligations AS (
    SELECT unit_id, uscc, region_code, period, component, person_id, person_key, event_type AS trigger,
        last_day(event_date) AS due_date, amount, NULL::INTEGER AS instalment
    FROM shares WHERE amount > 0
    UNION ALL
    SELECT unit_id, uscc, region_code, period, component, NULL, NULL, 'deferral_end', due_date, amount,
        CASE WHEN instalments IS NOT NULL THEN instalment END::INTEGER
    FROM instalments
    WHERE amount > 0  -- an instalment of 0.00 (A less than k fen) is dropped, like a zero share
), capped AS (
    SELECT o.unit_id || '|' || o.period || '|' || o.component || '|' || coalesce(o.person_key, 'unit') AS base_id,
        o.unit_id, o.uscc, o.region_code, o.person_key,
        CASE WHEN d.deregistered_on < o.due_date THEN 'deregistration' ELSE o.trigger END AS trigger,
        o.period, o.component, o.amount,
        CASE WHEN d.deregistered_on < o.due_date THEN d.deregistered_on ELSE o.due_date END AS due_date,
        d.late_fee_daily_rate, o.instalment,
        CASE WHEN o.person_id IS NULL THEN d.instalments END AS instalments, d.measure
    FROM obligations o JOIN d USING (unit_id)
)
-- an instalment's id ends in |i; obligations due the same day are filled in id order with instalment
-- numbers compared as numbers (…|unit|2 before …|unit|10)
SELECT base_id || coalesce('|' || instalment, '') AS obligation_id, * EXCLUDE (base_id), base_id,
    sum(amount) OVER (PARTITION BY uscc, period, component ORDER BY due_date, base_id, instalment NULLS FIRST
                      ROWS UNBOUNDED PRECEDING) AS o_hi
FROM capped;

CREATE OR REPLACE TEMP TABLE allocations AS
WITH repayments AS (
    SELECT uscc, period, component, payment_id, paid_on, amount,
        sum(amount) OVER (PARTITION BY uscc, period, component ORDER BY paid_on, payment_id ROWS UNBOUNDED PRECEDING) AS p_hi
    FROM tax_payments
    WHERE payment_kind = 'repayment'
)
SELECT f.obligation_id, f.unit_id, f.uscc, f.region_code, f.period, f.component, r.payment_id, r.paid_on,
    (least(f.o_hi, r.p_hi) - greatest(f.o_hi - f.amount, r.p_hi - r.amount))::DECIMAL(18, 2) AS allocated
FROM filled f
JOIN repayments r USING (uscc, period, component)
WHERE least(f.o_hi, r.p_hi) > greatest(f.o_hi - f.amount, r.p_hi - r.amount);

WITH totals AS (
    SELECT f.obligation_id,
        coalesce(sum(a.allocated), 0)::DECIMAL(18, 2) AS repaid_amount,
        coalesce(sum(CAST(a.allocated AS DECIMAL(38, 2)) * f.late_fee_daily_rate
                     * greatest(date_diff('day', f.due_date, a.paid_on), 0)), 0) AS late_part
    FROM filled f LEFT JOIN allocations a USING (obligation_id)
    GROUP BY f.obligation_id
)
SELECT f.obligation_id, f.unit_id, f.uscc, f.region_code, f.person_key, f.trigger, f.period, f.component,
    f.amount, f.due_date, t.repaid_amount,
    (f.amount - t.repaid_amount)::DECIMAL(18, 2) AS outstanding_amount,
    CASE WHEN f.amount - t.repaid_amount = 0 THEN 'paid'
         WHEN is_overdue(f.due_date, f.amount - t.repaid_amount) THEN 'overdue'
         WHEN t.repaid_amount > 0 THEN 'partially_paid'
         ELSE 'pending' END AS status,
    round(t.late_part + CAST(f.amount - t.repaid_amount AS DECIMAL(38, 2)) * f.late_fee_daily_rate
          * greatest(date_diff('day', f.due_date, as_of_date()), 0), 2)::DECIMAL(18, 2) AS late_fee,
    f.instalment, f.instalments, f.measure
FROM filled f JOIN totals t USING (obligation_id)
ORDER BY f.unit_id, f.period, f.component, f.base_id, f.instalment NULLS FIRST
