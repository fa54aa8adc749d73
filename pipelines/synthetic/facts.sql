-- Facts recorded by the bureaus for the synthetic world of world.sql: contributions, tax
-- collections and deferral register, reserves, classifications, commitments, elections, events.

CREATE OR REPLACE VIEW contributions_v AS
SELECT p.unit_id, p.person_id, pr.period, p.contribution_base,
    round(p.contribution_base * r.medical_rate, 2)::DECIMAL(18, 2) AS employer_medical,
    round(p.contribution_base * 0.02, 2)::DECIMAL(18, 2) AS employee_medical,
    CASE WHEN r.maternity_rate IS NOT NULL THEN round(p.contribution_base * r.maternity_rate, 2)::DECIMAL(18, 2) END AS employer_maternity
FROM persons_final p
JOIN units_final u USING (unit_id)
JOIN regions r ON r.region_code = u.region_code
JOIN periods pr ON pr.period BETWEEN p.start_period AND p.end_period;

-- Assessed totals per unit, period and component (the generator's view of the ledger).
CREATE OR REPLACE TABLE assessed AS
SELECT unit_id, period, component, sum(amount)::DECIMAL(18, 2) AS amount
FROM (
    SELECT unit_id, period, 'employer_medical' AS component, employer_medical AS amount FROM contributions_v
    UNION ALL SELECT unit_id, period, 'employee_medical', employee_medical FROM contributions_v
    UNION ALL SELECT unit_id, period, 'employer_maternity', employer_maternity FROM contributions_v WHERE employer_maternity IS NOT NULL
)
GROUP BY ALL;

-- Periods each deferring unit defers: its window, intersected with a commitment's months.
CREATE OR REPLACE TABLE unit_commitment AS
SELECT unit_id, i,
    CASE commit_range WHEN 'full' THEN first_period WHEN 'partial' THEN add_months_p(first_period, 1) ELSE '2023-01' END AS requested_from,
    CASE commit_range WHEN 'full' THEN add_months_p(first_period, 5) WHEN 'partial' THEN add_months_p(first_period, 1) ELSE '2023-03' END AS requested_to
FROM units_final
WHERE class_source IN ('commitment', 'missing_indicator');

CREATE OR REPLACE TABLE unit_window AS
SELECT u.unit_id,
    CASE WHEN u.behaviour = 'shift' AND EXISTS (
        SELECT 1 FROM assessed a WHERE a.unit_id = u.unit_id AND a.period = u.first_period
          AND a.component = 'employer_medical' AND a.amount > 0)
    THEN add_months_p(u.first_period, 1) ELSE u.first_period END AS window_start
FROM units_final u;

CREATE OR REPLACE TABLE deferred_periods AS
SELECT u.unit_id, add_months_p(w.window_start, k) AS period, c.component,
    CASE WHEN u.due_rule = 'fixed_date' THEN u.fixed_due
         ELSE last_day_of(add_months_p(coalesce(least(add_months_p(w.window_start, 2), uc.requested_to),
                                                add_months_p(w.window_start, 2)), 1)) END AS unit_due
FROM units_final u
JOIN unit_window w USING (unit_id)
CROSS JOIN range(3) t(k)
JOIN region_components c ON c.region_code = u.region_code
LEFT JOIN unit_commitment uc USING (unit_id)
WHERE u.defers
  AND (uc.unit_id IS NULL OR add_months_p(w.window_start, k) BETWEEN uc.requested_from AND uc.requested_to);

-- planted employee-share arrears: the unit's first deferred period goes unpaid
CREATE OR REPLACE TABLE arrears AS
SELECT d.unit_id, min(d.period) AS period
FROM deferred_periods d JOIN units_final u USING (unit_id)
WHERE u.arrears
GROUP BY d.unit_id;

CREATE OR REPLACE TABLE deferred AS
SELECT d.unit_id, d.period, d.component, a.amount,
    least(d.unit_due, coalesce(u.deregistered_on, d.unit_due)) AS due_date, u.i, u.uscc, u.repay_style
FROM deferred_periods d
JOIN assessed a USING (unit_id, period, component)
JOIN units_final u USING (unit_id)
WHERE a.amount > 0;

-- Planted overpayments: 10 yuan more than was deferred, on the unit's first deferred period.
CREATE OR REPLACE TABLE overpaid AS
SELECT uscc, period, component, 10.00::DECIMAL(18, 2) AS amount, due_date - 1 AS paid_on
FROM deferred
WHERE repay_style = 'on_time' AND rnd('overpay', i) < 0.03 AND component = 'employer_medical'
  AND period = (SELECT min(period) FROM deferred d2 WHERE d2.unit_id = deferred.unit_id);

-- Planted regular_payment_missing (SPEC section 6): a few deferring units still assessed in the
-- last period pay no regular employer_medical contribution for it.
CREATE OR REPLACE TABLE stops_paying AS
SELECT a.unit_id, a.period
FROM assessed a JOIN units_final u USING (unit_id)
WHERE u.defers AND a.component = 'employer_medical' AND a.amount > 0
  AND a.period = (SELECT max(period) FROM periods)
  AND a.unit_id IN (SELECT unit_id FROM deferred)
ORDER BY hash(${seed}, 'stops_paying', u.i)
LIMIT ${n_planted};

-- Tax collections.
CREATE OR REPLACE TABLE payments_raw AS
-- regular payments, on the 15th of the period's month (due by month end): every assessed amount except deferred ones,
-- planted employee-share arrears and planted stopped payments
SELECT u.uscc, a.period, a.component, a.amount, first_day_of(a.period) + 14 AS paid_on, 'regular' AS payment_kind
FROM assessed a JOIN units_final u USING (unit_id)
WHERE a.amount > 0
  AND NOT EXISTS (SELECT 1 FROM deferred d WHERE d.unit_id = a.unit_id AND d.period = a.period AND d.component = a.component)
  AND NOT (a.component = 'employee_medical' AND EXISTS (
      SELECT 1 FROM arrears r WHERE r.unit_id = a.unit_id AND r.period = a.period))
  AND NOT (a.component = 'employer_medical' AND EXISTS (
      SELECT 1 FROM stops_paying s WHERE s.unit_id = a.unit_id AND s.period = a.period))
UNION ALL
-- Shanxi refund election: the first period was paid, then refunded; the window stays
SELECT u.uscc, a.period, a.component, a.amount, first_day_of(a.period) + 14, 'regular'
FROM assessed a JOIN units_final u USING (unit_id) JOIN deferred d USING (unit_id, period, component)
WHERE u.behaviour = 'refund' AND a.period = u.first_period
UNION ALL
SELECT u.uscc, a.period, a.component, a.amount, last_day_of(a.period) + 25, 'refund'
FROM assessed a JOIN units_final u USING (unit_id) JOIN deferred d USING (unit_id, period, component)
WHERE u.behaviour = 'refund' AND a.period = u.first_period
UNION ALL
-- repayments of deferred amounts
SELECT uscc, period, component,
    CASE WHEN repay_style = 'partial' THEN round(amount / 2, 2) ELSE amount END::DECIMAL(18, 2),
    CASE repay_style WHEN 'early' THEN due_date - 20 WHEN 'late' THEN due_date + 25 ELSE due_date - 2 END,
    'repayment'
FROM deferred WHERE repay_style <> 'never'
UNION ALL
SELECT uscc, period, component, amount, paid_on, 'repayment' FROM overpaid;

CREATE OR REPLACE TABLE tax_payments_gen AS
SELECT 'P' || lpad(row_number() OVER (ORDER BY paid_on, uscc, period, component, payment_kind, amount)::VARCHAR, 10, '0') AS payment_id,
    uscc, period, component, amount, paid_on, payment_kind
FROM payments_raw;

-- Tax deferral register: the plan health sent, with planted discrepancies.
CREATE OR REPLACE TABLE register_planted AS
SELECT d.uscc, d.period, d.component, d.amount AS health_amount,
    CASE WHEN rnd('missing_in_tax', hash(d.i, d.period, d.component)) < 0.01 THEN 'missing_in_tax'
         WHEN rnd('amount_mismatch', hash(d.i, d.period, d.component)) < 0.01 THEN 'amount_mismatch' END AS planted
FROM deferred d;

CREATE OR REPLACE TABLE tax_deferral_register_gen AS
SELECT uscc, period, component,
    CASE WHEN planted = 'amount_mismatch' THEN health_amount + 1.00 ELSE health_amount END::DECIMAL(18, 2) AS deferred_amount
FROM register_planted WHERE planted IS DISTINCT FROM 'missing_in_tax'
UNION ALL
-- missing_in_health: tax registered a deferral for a large enterprise health never listed
SELECT u.uscc, u.first_period, 'employer_medical', a.amount
FROM units_final u JOIN assessed a ON a.unit_id = u.unit_id AND a.period = u.first_period AND a.component = 'employer_medical'
WHERE u.reserve_status = 'ok' AND u.true_size = 'large' AND rnd('missing_in_health', u.i) < 0.25 AND a.amount > 0
UNION ALL
-- missing_in_health: a uscc unknown to health (valid check character)
SELECT s || uscc_check(s), '2022-08', 'employer_medical', 1234.56
FROM (SELECT '91349900' || lpad((90000000 + k)::VARCHAR, 8, '0') AS s0, s0 || org_check(s0[9:16]) AS s FROM range(${n_unknown_uscc}) t(k));

-- Fund reserves: months 2022-01 .. 2023-06 for every region but the ones planted missing.
CREATE OR REPLACE TABLE fund_reserves_gen AS
SELECT r.region_code, strftime(DATE '2022-01-01' + to_months(m), '%Y-%m') AS as_of_month,
    (exp_ * CASE
        WHEN strftime(DATE '2022-01-01' + to_months(m), '%Y-%m') >= r.first_period THEN 7.5 + rnd('mp_late', hash(r.region_code, m)) * 8
        WHEN r.reserve_status = 'ok' THEN 8 + rnd('mp', hash(r.region_code, m)) * 12
        ELSE r.low_months END)::DECIMAL(18, 2) AS accumulated_balance,
    exp_::DECIMAL(18, 2) AS avg_monthly_expenditure
FROM (SELECT *, (1000000 + floor(rnd('exp', hash(region_code)) * 90000) * 1000)::DECIMAL(18, 2) AS exp_ FROM regions) r
CROSS JOIN range(18) t(m)
WHERE r.reserve_status <> 'missing';

-- SME classifications: the register's size, the indicators of 300号 categories, or nothing.
CREATE OR REPLACE TABLE sme_gen AS
SELECT uscc, DATE '2022-03-31' AS as_of, true_size AS size_class,
    NULL::BIGINT AS employees, NULL::DECIMAL(18, 2) AS operating_revenue, NULL::DECIMAL(18, 2) AS total_assets,
    industry_code, CASE WHEN i % 2 = 0 THEN 'statistics' ELSE 'market_regulation' END AS source
FROM units_final WHERE class_source = 'register'
UNION ALL
-- an older register row with another size: only the latest row counts
SELECT uscc, DATE '2020-12-31', CASE WHEN true_size = 'micro' THEN 'small' ELSE 'micro' END,
    NULL, NULL, NULL, industry_code, 'statistics'
FROM units_final WHERE class_source = 'register' AND rnd('old_row', i) < 0.10
UNION ALL
-- indicators only (size_class empty); values lie well inside the band of the unit's size
SELECT u.uscc, DATE '2022-03-31', NULL,
    CASE WHEN b.employees IS NOT NULL THEN b.employees + (u.i % 3) END,
    CASE WHEN b.revenue_wan IS NOT NULL AND NOT (u.class_source = 'missing_indicator') THEN (b.revenue_wan * 10000 + (u.i % 997))::DECIMAL(18, 2) END,
    CASE WHEN b.assets_wan IS NOT NULL THEN (b.assets_wan * 10000 + (u.i % 991))::DECIMAL(18, 2) END,
    CASE WHEN u.class_source = 'missing_indicator' THEN 'C1399' ELSE u.industry_code END, 'statistics'
FROM units_final u
JOIN indicator_bands b ON b.category = (CASE WHEN u.class_source = 'missing_indicator' THEN 'industry' ELSE u.category END) AND b.size_class = u.true_size
WHERE u.class_source IN ('indicators', 'missing_indicator');

-- Commitments (承诺书) of units no data classifies.
CREATE OR REPLACE TABLE commitments_gen AS
SELECT 'C' || lpad((u.i + 1)::VARCHAR, 7, '0') AS commitment_id, u.unit_id, u.uscc,
    u.true_size AS declared_size_class, 'enterprise' AS declared_unit_type,
    c.requested_from, c.requested_to, DATE '2022-07-15' AS signed_on
FROM units_final u JOIN unit_commitment c USING (unit_id)
WHERE u.true_size <> 'large';

CREATE OR REPLACE TABLE elections_gen AS
SELECT unit_id, 'opt_out' AS election, DATE '2022-07-20' AS filed_on FROM units_final WHERE behaviour = 'opt_out'
UNION ALL
SELECT unit_id, 'refund_first_period', DATE '2022-08-05' FROM units_final WHERE behaviour = 'refund';

CREATE OR REPLACE TABLE employee_events_gen AS
SELECT unit_id, person_id, event_type, event_date FROM persons_final WHERE event_type IS NOT NULL;

CREATE OR REPLACE TABLE units_gen AS
SELECT unit_id, uscc, unit_name, region_code, unit_type, industry_code, registered_on, deregistered_on
FROM units_final;
