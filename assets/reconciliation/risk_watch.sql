-- Risk watch (缓缴风险预警) as of the report month's last day D (SPEC section 6): one row per unit of
-- unit_status and flag raised at D, with the unit's total outstanding and its number of flags.
-- headcount_drop: persons assessed in the report month fewer than the profile's
--   risk_headcount_ratio x persons assessed in the window_start period (which is before it);
-- regular_payment_missing: the report month outside the unit's window, employer_medical assessed,
--   no accepted regular employer_medical payment for it paid by D;
-- deregistered_with_outstanding: deregistered by D with something outstanding;
-- employee_share_unpaid: an employee_share_unpaid discrepancy of the unit stands at D.
WITH s AS (
    SELECT st.*, d.window_start, d.window_end, pr.risk_headcount_ratio
    FROM unit_status st
    JOIN deferral_decisions d USING (unit_id)
    JOIN policy_regions pr ON pr.region_code = st.region_code
), raised AS (
    SELECT s.unit_id, 'headcount_drop' AS flag,
        'persons ' || coalesce(now_.persons, 0) || ' in ' || report_month() || ' < ' || s.risk_headcount_ratio
            || ' x ' || base.persons || ' in ' || s.window_start AS detail
    FROM s
    JOIN unit_period_contributions base ON base.unit_id = s.unit_id AND base.period = s.window_start
    LEFT JOIN unit_period_contributions now_ ON now_.unit_id = s.unit_id AND now_.period = report_month()
    WHERE s.window_start < report_month() AND coalesce(now_.persons, 0) < s.risk_headcount_ratio * base.persons
    UNION ALL
    SELECT s.unit_id, 'regular_payment_missing',
        'employer_medical ' || a.employer_medical || ' assessed for ' || report_month() || ', no regular payment by ' || as_of_date()
    FROM s
    JOIN unit_period_contributions a ON a.unit_id = s.unit_id AND a.period = report_month()
    WHERE NOT (report_month() BETWEEN s.window_start AND s.window_end) AND a.employer_medical > 0
      AND NOT EXISTS (SELECT 1 FROM tax_payments t
                      WHERE t.uscc = s.uscc AND t.period = report_month() AND t.component = 'employer_medical'
                        AND t.payment_kind = 'regular' AND t.amount > 0 AND t.paid_on <= as_of_date())
    UNION ALL
    SELECT s.unit_id, 'deregistered_with_outstanding',
        'deregistered on ' || u.deregistered_on || ', outstanding ' || s.outstanding_amount
    FROM s JOIN units u USING (unit_id)
    WHERE u.deregistered_on <= as_of_date() AND s.outstanding_amount > 0
    UNION ALL
    SELECT s.unit_id, 'employee_share_unpaid',
        'employee share unpaid for ' || string_agg(x.period, ', ' ORDER BY x.period) || ': ' || sum(x.difference)
    FROM s JOIN reconciliation_discrepancies x ON x.unit_id = s.unit_id AND x.kind = 'employee_share_unpaid'
    GROUP BY s.unit_id
)
SELECT report_month() AS report_month, r.unit_id, s.uscc, s.region_code, r.flag, r.detail, s.outstanding_amount,
    count(*) OVER (PARTITION BY r.unit_id)::BIGINT AS flags
FROM raised r JOIN s USING (unit_id)
ORDER BY r.unit_id, r.flag
