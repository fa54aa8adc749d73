-- The generator's own view of collection and risk (SPEC section 6) at a few reference report
-- months, from the world it drew, never from the engine's tables: what a run must find in
-- unit_status and risk_watch. Template value: ${report_months}, a VALUES list of 'YYYY-MM'.
-- Inputs from world.sql and facts.sql: units_final, persons_final, contributions_v, deferred,
-- deferred_periods, arrears, tax_payments_gen, regions (with risk_ratio).

CREATE OR REPLACE TABLE reference_months AS
SELECT m AS report_month, last_day(strptime(m || '-01', '%Y-%m-%d')::DATE) AS d
FROM (VALUES ${report_months}) t(m);

-- Each deferring unit's window and uncapped unit-level due date, as the generator planned them.
CREATE OR REPLACE TABLE planned_windows AS
SELECT unit_id, min(period) AS window_start, max(period) AS window_end, any_value(unit_due) AS unit_due
FROM deferred_periods GROUP BY unit_id;

-- Per reference month: the deferred amounts known at D (periods up to the month), each split into
-- the persons' shares (an event from the window's first day up to the unit's due date, known at D,
-- due at the end of its month) and the unit-level rest; due dates capped by a deregistration known at D.
CREATE OR REPLACE TABLE planned_obligations AS
WITH known AS (
    SELECT m.report_month, m.d, x.unit_id, x.period, x.component, x.amount, w.window_start, w.unit_due,
        CASE WHEN u.deregistered_on <= m.d THEN u.deregistered_on END AS dereg
    FROM deferred x
    JOIN reference_months m ON x.period <= m.report_month
    JOIN planned_windows w USING (unit_id)
    JOIN units_final u USING (unit_id)
), shares AS (
    SELECT k.report_month, k.unit_id, k.period, k.component, c.person_id,
        CASE k.component WHEN 'employer_medical' THEN c.employer_medical ELSE c.employer_maternity END AS amount,
        last_day(p.event_date) AS due
    FROM known k
    JOIN contributions_v c ON c.unit_id = k.unit_id AND c.period = k.period
    JOIN persons_final p ON p.person_id = c.person_id
    WHERE p.event_date BETWEEN first_day_of(k.window_start) AND least(k.unit_due, k.d)
)
SELECT k.report_month, k.d, k.unit_id, k.period, k.component, o.amount,
    CASE WHEN k.dereg < o.due THEN k.dereg ELSE o.due END AS due
FROM known k,
LATERAL (
    SELECT amount, due FROM shares s
    WHERE s.report_month = k.report_month AND s.unit_id = k.unit_id AND s.period = k.period
      AND s.component = k.component AND s.amount > 0
    UNION ALL
    SELECT k.amount - coalesce((SELECT sum(s.amount) FROM shares s
        WHERE s.report_month = k.report_month AND s.unit_id = k.unit_id AND s.period = k.period
          AND s.component = k.component), 0), k.unit_due
) o
WHERE o.amount > 0;

-- Per unit, period and component at D: amount, what fell due before D, and repayments made by D
-- (allocated earliest due date first, so the overdue part is what is due before D beyond them).
CREATE OR REPLACE TABLE planned_positions AS
WITH owed AS (
    SELECT report_month, d, unit_id, period, component, sum(amount) AS amount,
        coalesce(sum(amount) FILTER (WHERE due < d), 0) AS due_before
    FROM planned_obligations GROUP BY ALL
), repaid AS (
    SELECT m.report_month, u.unit_id, t.period, t.component, sum(t.amount) AS paid
    FROM tax_payments_gen t
    JOIN units_final u USING (uscc)
    JOIN reference_months m ON t.paid_on <= m.d
    WHERE t.payment_kind = 'repayment'
    GROUP BY ALL
)
SELECT o.*, least(o.amount, coalesce(r.paid, 0)) AS repaid
FROM owed o LEFT JOIN repaid r USING (report_month, unit_id, period, component);

CREATE OR REPLACE TABLE planned_unit_status AS
SELECT p.report_month, p.unit_id,
    CASE WHEN sum(greatest(p.due_before - p.repaid, 0)) > 0 THEN 'in_arrears'
         WHEN sum(p.amount - p.repaid) = 0 THEN 'repaid'
         WHEN any_value(p.d) <= last_day(strptime(any_value(w.window_end) || '-01', '%Y-%m-%d')::DATE) THEN 'deferring'
         ELSE 'repaying' END AS status,
    sum(p.amount - p.repaid) AS outstanding
FROM planned_positions p JOIN planned_windows w USING (unit_id)
GROUP BY p.report_month, p.unit_id;

-- Persons assessed per unit and period.
CREATE OR REPLACE TABLE planned_headcount AS
SELECT unit_id, period, count(*) AS persons FROM contributions_v GROUP BY ALL;

CREATE OR REPLACE TABLE planned_risk AS
WITH s AS (
    SELECT st.*, m.d, w.window_start, w.window_end, u.uscc, u.deregistered_on, r.risk_ratio
    FROM planned_unit_status st
    JOIN reference_months m USING (report_month)
    JOIN planned_windows w USING (unit_id)
    JOIN units_final u USING (unit_id)
    JOIN regions r ON r.region_code = u.region_code
)
SELECT s.report_month, s.unit_id, 'headcount_drop' AS flag FROM s
JOIN planned_headcount b ON b.unit_id = s.unit_id AND b.period = s.window_start
LEFT JOIN planned_headcount n ON n.unit_id = s.unit_id AND n.period = s.report_month
WHERE s.window_start < s.report_month AND coalesce(n.persons, 0) < s.risk_ratio * b.persons
UNION ALL
SELECT s.report_month, s.unit_id, 'regular_payment_missing' FROM s
JOIN assessed a ON a.unit_id = s.unit_id AND a.period = s.report_month AND a.component = 'employer_medical'
WHERE a.amount > 0 AND NOT (s.report_month BETWEEN s.window_start AND s.window_end)
  AND NOT EXISTS (SELECT 1 FROM tax_payments_gen t
                  WHERE t.uscc = s.uscc AND t.period = s.report_month AND t.component = 'employer_medical'
                    AND t.payment_kind = 'regular' AND t.amount > 0 AND t.paid_on <= s.d)
UNION ALL
SELECT s.report_month, s.unit_id, 'deregistered_with_outstanding' FROM s
WHERE s.deregistered_on <= s.d AND s.outstanding > 0
UNION ALL
SELECT s.report_month, s.unit_id, 'employee_share_unpaid' FROM s
JOIN arrears r ON r.unit_id = s.unit_id AND r.period <= s.report_month
JOIN assessed a ON a.unit_id = r.unit_id AND a.period = r.period AND a.component = 'employee_medical'
WHERE a.amount > 0;
