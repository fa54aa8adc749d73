-- Monthly statistics as of the report month's last day: every region with units (and its
-- province) x category, health and tax side by side (SPEC section 4 and 5).
WITH units_c AS (
    SELECT d.unit_id, d.uscc, d.region_code, p.province_code, p.first_period,
        unit_category(d.unit_type, d.size_class) AS own_category
    FROM deferral_decisions d JOIN policy_regions p USING (region_code)
    WHERE p.first_period <= report_month()
), unit_rows AS (
    SELECT *, 'all' AS category FROM units_c
    UNION ALL SELECT *, own_category FROM units_c WHERE own_category IS NOT NULL
), ledger_m AS (
    SELECT unit_id, sum(deferred_amount) FILTER (WHERE period = report_month()) AS deferred,
        sum(deferred_amount) AS cumulative
    FROM deferral_ledger GROUP BY unit_id
), schedule AS (
    SELECT unit_id, sum(repaid_amount) AS repaid, sum(outstanding_amount) AS outstanding,
        sum(outstanding_amount) FILTER (WHERE status = 'overdue') AS overdue, sum(late_fee) AS late_fee
    FROM repayment_schedule GROUP BY unit_id
), repaid_m AS (
    SELECT unit_id, sum(allocated) AS repaid_in_month
    FROM repayment_allocations WHERE strftime(paid_on, '%Y-%m') = report_month() GROUP BY unit_id
), tax_m AS (
    SELECT uscc, sum(deferred_amount) AS amount
    FROM tax_deferral_register WHERE period = report_month() GROUP BY uscc
), disc_m AS (
    SELECT unit_id, count(*) AS n FROM reconciliation_discrepancies
    WHERE period = report_month() AND unit_id IS NOT NULL GROUP BY unit_id
), facts AS (
    SELECT r.province_code, r.region_code, r.category, r.unit_id,
        coalesce(l.deferred, 0) AS deferred, coalesce(l.cumulative, 0) AS cumulative,
        coalesce(m.repaid_in_month, 0) AS repaid_in_month, coalesce(s.repaid, 0) AS repaid,
        coalesce(s.outstanding, 0) AS outstanding, coalesce(s.overdue, 0) AS overdue, coalesce(s.late_fee, 0) AS late_fee,
        coalesce(t.amount, 0) AS tax_amount, coalesce(dm.n, 0) AS discrepancies,
        coalesce(us.status = 'in_arrears', false) AS in_arrears,
        r.unit_id IN (SELECT unit_id FROM risk_watch) AS flagged
    FROM unit_rows r
    LEFT JOIN unit_status us USING (unit_id)
    LEFT JOIN ledger_m l USING (unit_id)
    LEFT JOIN schedule s USING (unit_id)
    LEFT JOIN repaid_m m USING (unit_id)
    LEFT JOIN tax_m t ON t.uscc = r.uscc
    LEFT JOIN disc_m dm USING (unit_id)
), health AS (
    SELECT coalesce(region_code, province_code) AS region_code, category,
        count(*) FILTER (WHERE deferred > 0) AS units_deferring,
        sum(deferred) AS deferred_amount, sum(cumulative) AS cumulative_deferred,
        sum(repaid_in_month) AS repaid_in_month, sum(repaid) AS cumulative_repaid,
        sum(outstanding) AS outstanding, sum(overdue) AS overdue_outstanding, sum(late_fee) AS late_fee,
        count(*) FILTER (WHERE tax_amount > 0) AS tax_units_deferring,
        sum(tax_amount) FILTER (WHERE tax_amount > 0) AS tax_deferred_amount,
        sum(discrepancies) AS discrepancies,
        count(*) FILTER (WHERE in_arrears) AS units_in_arrears, count(*) FILTER (WHERE flagged) AS units_flagged
    FROM facts
    GROUP BY GROUPING SETS ((province_code, region_code, category), (province_code, category))
), deferring AS (
    SELECT DISTINCT province_code, region_code, category, unit_id FROM facts WHERE deferred > 0
), month_persons AS (
    -- each person assessed in the month in a deferring unit (accepted contributions are unique per
    -- unit, person and period)
    SELECT c.unit_id, c.person_id
    FROM contributions c SEMI JOIN (SELECT DISTINCT unit_id FROM deferring) d USING (unit_id)
    WHERE c.period = report_month()
), shared AS (
    -- persons assessed in more than one deferring unit (few): counted first by a hash of the id (a
    -- number aggregates faster than text), then exactly among the candidates (a collision only adds one)
    SELECT person_id FROM month_persons
    WHERE hash(person_id) IN (SELECT hash(person_id) FROM month_persons GROUP BY 1 HAVING count(*) > 1)
    GROUP BY person_id HAVING count(*) > 1
), unit_persons AS (
    -- each deferring unit's persons in no other deferring unit: counted once, through their unit
    SELECT unit_id, count(*) AS n FROM month_persons ANTI JOIN shared USING (person_id) GROUP BY unit_id
), shared_covered AS (
    SELECT DISTINCT d.province_code, d.region_code, d.category, m.person_id
    FROM deferring d JOIN month_persons m USING (unit_id) SEMI JOIN shared USING (person_id)
), persons AS (
    -- distinct persons at each level: those of one unit through their unit's count, plus the shared
    -- ones once per region (or province) and category
    SELECT region_code, category, sum(n) AS persons_covered FROM (
        SELECT d.region_code, d.category, u.n FROM deferring d JOIN unit_persons u USING (unit_id)
        UNION ALL
        SELECT region_code, category, count(*) FROM shared_covered GROUP BY ALL
    ) GROUP BY ALL
    UNION ALL
    SELECT province_code, category, sum(n) FROM (
        SELECT d.province_code, d.category, u.n FROM deferring d JOIN unit_persons u USING (unit_id)
        UNION ALL
        SELECT province_code, category, count(DISTINCT person_id) FROM shared_covered GROUP BY ALL
    ) GROUP BY ALL
), grid AS (
    SELECT DISTINCT x.region_code, c.category
    FROM (SELECT region_code FROM units_c UNION SELECT province_code FROM units_c) x
    CROSS JOIN (VALUES ('all'), ('medium'), ('small'), ('micro'), ('individual_business'), ('social_org')) c(category)
)
SELECT g.region_code, report_month() AS report_month, g.category,
    coalesce(h.units_deferring, 0)::BIGINT AS units_deferring,
    coalesce(p.persons_covered, 0)::BIGINT AS persons_covered,
    coalesce(h.deferred_amount, 0)::DECIMAL(18, 2) AS deferred_amount,
    coalesce(h.cumulative_deferred, 0)::DECIMAL(18, 2) AS cumulative_deferred,
    coalesce(h.repaid_in_month, 0)::DECIMAL(18, 2) AS repaid_in_month,
    coalesce(h.cumulative_repaid, 0)::DECIMAL(18, 2) AS cumulative_repaid,
    coalesce(h.outstanding, 0)::DECIMAL(18, 2) AS outstanding,
    coalesce(h.overdue_outstanding, 0)::DECIMAL(18, 2) AS overdue_outstanding,
    coalesce(h.late_fee, 0)::DECIMAL(18, 2) AS late_fee,
    coalesce(h.tax_units_deferring, 0)::BIGINT AS tax_units_deferring,
    coalesce(h.tax_deferred_amount, 0)::DECIMAL(18, 2) AS tax_deferred_amount,
    coalesce(h.discrepancies, 0)::BIGINT AS discrepancies,
    coalesce(h.units_deferring, 0) = coalesce(h.tax_units_deferring, 0)
        AND coalesce(h.deferred_amount, 0) = coalesce(h.tax_deferred_amount, 0)
        AND coalesce(h.discrepancies, 0) = 0 AS reconciled,
    coalesce(h.units_in_arrears, 0)::BIGINT AS units_in_arrears,
    coalesce(h.units_flagged, 0)::BIGINT AS units_flagged
FROM grid g
LEFT JOIN health h USING (region_code, category)
LEFT JOIN persons p USING (region_code, category)
ORDER BY g.region_code, g.category
