-- Collection notices (催缴提醒) as of the report month's last day D (SPEC section 6): per unit and
-- kind, the obligations with something outstanding that are overdue (due before D), due now (due
-- on D) or due next month; obligations, due dates and late fees exactly as repayment_schedule has
-- them as of D. A notice reflects payments up to D only.
WITH open AS (
    SELECT s.*,
        CASE WHEN is_overdue(s.due_date, s.outstanding_amount) THEN 'overdue'
             WHEN s.due_date = as_of_date() THEN 'due_now'
             WHEN s.due_date > as_of_date() AND s.due_date <= last_day(as_of_date() + INTERVAL 1 DAY) THEN 'due_next_month'
        END AS kind
    FROM repayment_schedule s
    WHERE s.outstanding_amount > 0
)
SELECT report_month() AS report_month, o.unit_id, u.uscc, u.unit_name, u.region_code, o.kind,
    count(*)::BIGINT AS obligations,
    count(DISTINCT o.person_key)::BIGINT AS persons,
    sum(o.outstanding_amount)::DECIMAL(18, 2) AS outstanding_amount,
    min(o.due_date) AS earliest_due_date,
    coalesce(sum(o.late_fee) FILTER (WHERE o.kind = 'overdue'), 0)::DECIMAL(18, 2) AS late_fee,
    as_of_date() AS as_of_date,
    -- the instalments the notice covers under a city measure (SPEC section 8), for the notice lists;
    -- not a published column
    CASE WHEN max(o.instalments) IS NOT NULL THEN
        '第 ' || CASE WHEN min(o.instalment) = max(o.instalment) THEN min(o.instalment)::VARCHAR
                      ELSE min(o.instalment) || '–' || max(o.instalment) END
        || ' 期，共 ' || max(o.instalments) || ' 期' END AS instalment_label
FROM open o
JOIN deferral_decisions u USING (unit_id)
WHERE o.kind IS NOT NULL
GROUP BY o.unit_id, u.uscc, u.unit_name, u.region_code, o.kind
ORDER BY o.unit_id, o.kind
