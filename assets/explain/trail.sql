-- The facts of one unit's trail (SPEC section 7, explain), each query named by the line before it.
-- Run over views that assets/explain/trail.py makes: the clean tables cut to the unit (its unit_id,
-- uscc, region) and to what was known on the as-of date (as_of.sql), and the report month's policy
-- outputs of the unit's province (decision, sme, region, ledger, schedule, allocations, status, risk).
-- Nothing is computed again: each query reads what the pipeline wrote and where its inputs came from.
-- A person appears only as person_key.

-- name: identity
SELECT unit_id, uscc, unit_name, region_code, unit_type, industry_code, registered_on, deregistered_on,
    source_file, source_line
FROM units;

-- name: register
-- every classification row of the unit's uscc known on the as-of date, the latest (the register) first
SELECT as_of, size_class, employees, operating_revenue, total_assets, industry_code, source AS source_kind,
    row_number() OVER (ORDER BY as_of DESC) = 1 AS latest, source_file, source_line
FROM sme_classifications
ORDER BY as_of DESC;

-- name: commitments
-- the unit's commitments known on the as-of date, the one that would count first (latest signed_on with a
-- declared size; ties: the larger commitment_id)
SELECT commitment_id, declared_size_class, declared_unit_type, requested_from, requested_to, signed_on,
    source_file, source_line
FROM commitments
ORDER BY declared_size_class IS NULL, signed_on DESC, commitment_id DESC;

-- name: elections
SELECT election, filed_on, source_file, source_line
FROM elections
ORDER BY filed_on, election;

-- name: first_period_payments
-- what shifts the window: a regular employer_medical payment for the profile's first period, amount > 0
SELECT payment_id, period, amount, paid_on, source_file, source_line
FROM tax_payments
WHERE payment_kind = 'regular' AND component = 'employer_medical' AND amount > 0 AND period = getvariable('first_period')
ORDER BY paid_on, payment_id;

-- name: reserve
SELECT r.as_of_month, r.accumulated_balance, r.avg_monthly_expenditure, r.months_payable, r.eligible,
    r.region_reason, f.source_file, f.source_line
FROM region r
LEFT JOIN fund_reserves f USING (region_code, as_of_month);

-- name: ledger
SELECT period, component, assessed_amount, paid_amount, refunded_amount, deferred_amount, insured_persons
FROM ledger
ORDER BY period, component;

-- name: assessed_sources
-- where each window period's assessments came from: per raw file, the rows read and their first lines
SELECT c.period, c.source_file, count(*) AS rows,
    list(c.source_line ORDER BY c.source_line)[1:getvariable('lines_shown')] AS lines
FROM contributions c
WHERE c.period IN (SELECT period FROM ledger)
GROUP BY ALL
ORDER BY c.period, c.source_file;

-- name: period_payments
-- the regular payments and refunds the ledger subtracts and adds, per window period and component
SELECT t.period, t.component, t.payment_kind, t.payment_id, t.amount, t.paid_on, t.source_file, t.source_line
FROM tax_payments t
WHERE t.payment_kind IN ('regular', 'refund')
  AND EXISTS (SELECT 1 FROM ledger l WHERE l.period = t.period AND l.component = t.component)
ORDER BY t.period, t.component, t.paid_on, t.payment_id;

-- name: obligations
SELECT obligation_id, trigger, person_key, period, component, amount, due_date, repaid_amount,
    outstanding_amount, status, late_fee, instalment, instalments, measure
FROM schedule
ORDER BY due_date, obligation_id;

-- name: allocations
-- each repayment allocated to an obligation, in the order it filled them, with its raw row
SELECT a.obligation_id, a.payment_id, a.paid_on, a.allocated, t.amount AS payment_amount,
    t.source_file, t.source_line
FROM allocations a
LEFT JOIN tax_payments t USING (payment_id)
ORDER BY a.obligation_id, a.paid_on, a.payment_id;

-- name: events
-- the employee events of the unit known on the as-of date, by person_key (never the person id)
SELECT person_key(person_id) AS person_key, event_type, event_date, source_file, source_line
FROM employee_events
ORDER BY person_key, event_date, CASE event_type WHEN 'departure' THEN 1 WHEN 'retirement' THEN 2 ELSE 3 END;

-- name: status
SELECT status, regarded_as_paid, deferred_amount, repaid_amount, outstanding_amount, overdue_amount, late_fee
FROM status;

-- name: risk
SELECT flag, detail, outstanding_amount
FROM risk
ORDER BY flag;

-- name: thresholds
-- the 300号 row the unit's industry code matched (longest listed prefix)
SELECT category, prefix, x_cap, x_medium, x_small, y_cap, y_medium, y_small, z_cap, z_medium, z_small
FROM sme_thresholds
WHERE starts_with(getvariable('industry_code'), prefix)
ORDER BY length(prefix) DESC
LIMIT 1;
