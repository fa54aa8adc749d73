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
), covered AS (
    -- each person assessed in a deferring unit, once per region and category
    SELECT DISTINCT f.province_code, f.region_code, f.category, c.person_id
    FROM facts f
    JOIN contributions c ON c.unit_id = f.unit_id AND c.period = report_month()
    WHERE f.deferred > 0
), persons AS (
    -- distinct at each level: a person in two units of a province counts once in its row. Plain
    -- DISTINCT and GROUP BY, which spill; count(DISTINCT) under GROUPING SETS held every group's
    -- persons in memory, which does not spill
    SELECT region_code, category, count(*) AS persons_covered FROM covered GROUP BY ALL
    UNION ALL
    SELECT province_code, category, count(*) FROM (SELECT DISTINCT province_code, category, person_id FROM covered) GROUP BY ALL
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
