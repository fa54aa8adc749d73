-- One decision per unit known at the as-of date, SPEC section 3 order, first match wins; an
-- eligible unit's repayment terms: the province's (a lump sum on the profile's date), or its
-- region's city measure known at the as-of date (SPEC section 8: the latest filed_on; the same
-- day, the one listed later), whose first due date D1 is the unit's due date.
WITH measure AS (
    SELECT region_code, filed_as, kind, instalments, first_due
    FROM city_measures
    WHERE filed_on <= as_of_date()
    QUALIFY row_number() OVER (PARTITION BY region_code ORDER BY filed_on DESC, listed DESC) = 1
), u AS (
    SELECT units.*, p.policy_id, p.first_period, p.window_periods, p.shift_if_first_period_paid,
        p.refund_first_period_option, p.repayment_rule, p.repayment_fixed_date,
        r.eligible AS region_eligible, r.region_reason
    FROM units
    JOIN policy_regions p USING (region_code)
    JOIN region_eligibility r USING (region_code)
), elected AS (
    SELECT unit_id, bool_or(election = 'opt_out') AS opt_out, bool_or(election = 'refund_first_period') AS refund
    FROM elections
    GROUP BY unit_id
), first_paid AS (
    -- looked up for a unit's first period only: the payments of the profiles' first periods, not all
    SELECT DISTINCT t.uscc, t.period
    FROM tax_payments t
    WHERE t.payment_kind = 'regular' AND t.component = 'employer_medical' AND t.amount > 0
      AND t.period IN (SELECT first_period FROM policy_regions)
), base AS (
    SELECT u.*, s.size_class, s.requested_from, s.requested_to,
        CASE WHEN u.unit_type = 'enterprise' THEN s.classification ELSE 'unit_type' END AS classification,
        coalesce(e.opt_out, FALSE) AS opt_out,
        u.shift_if_first_period_paid AND f.uscc IS NOT NULL
            AND NOT (u.refund_first_period_option AND coalesce(e.refund, FALSE)) AS shift
    FROM u
    LEFT JOIN sme_classification s USING (unit_id)
    LEFT JOIN elected e USING (unit_id)
    LEFT JOIN first_paid f ON f.uscc = u.uscc AND f.period = u.first_period
), windowed AS (
    SELECT *,
        add_months_p(first_period, CASE WHEN shift THEN 1 ELSE 0 END) AS w_start,
        add_months_p(first_period, CASE WHEN shift THEN 1 ELSE 0 END + window_periods - 1) AS w_end
    FROM base
), decided AS (
    SELECT *,
        CASE
            WHEN NOT region_eligible THEN region_reason
            WHEN deregistered_on < first_day_of(first_period) THEN 'deregistered_before_window'
            WHEN unit_type IN ('public_institution', 'government_agency') THEN 'ineligible_unit_type'
            WHEN opt_out THEN 'opted_out'
            WHEN unit_type = 'individual_business' THEN 'eligible_individual_business'
            WHEN unit_type <> 'enterprise' THEN 'eligible_social_org'
            WHEN classification = 'none' THEN 'unclassified_no_commitment'
            WHEN size_class = 'large' THEN 'large_enterprise'
            WHEN classification = 'commitment'
                 AND greatest(w_start, requested_from) > least(w_end, requested_to) THEN 'commitment_outside_window'
            ELSE 'eligible_sme' END AS reason
    FROM windowed
)
SELECT unit_id, uscc, unit_name, region_code, policy_id, unit_type,
    CASE WHEN unit_type = 'enterprise' THEN size_class END AS size_class,
    classification,
    CASE WHEN reason LIKE 'eligible_%' THEN CASE WHEN classification = 'commitment' THEN 'commitment' ELSE 'auto_list' END END AS basis,
    reason LIKE 'eligible_%' AS eligible,
    reason,
    CASE WHEN reason LIKE 'eligible_%' THEN
        CASE WHEN classification = 'commitment' THEN greatest(w_start, requested_from) ELSE w_start END END AS window_start,
    CASE WHEN reason LIKE 'eligible_%' THEN
        CASE WHEN classification = 'commitment' THEN least(w_end, requested_to) ELSE w_end END END AS window_end,
    CASE WHEN reason LIKE 'eligible_%' THEN shift END AS shifted,
    -- the unit's repayment date for this window (before any deregistration cap): a measure's first_due,
    -- else the profile's unit-level date
    CASE WHEN reason LIKE 'eligible_%' THEN coalesce(m.first_due,
        CASE WHEN repayment_rule = 'fixed_date' THEN repayment_fixed_date
             ELSE last_day_of(add_months_p(CASE WHEN classification = 'commitment' THEN least(w_end, requested_to) ELSE w_end END, 1))
        END) END AS unit_due_date,
    deregistered_on,
    CASE WHEN reason LIKE 'eligible_%' THEN
        CASE WHEN m.kind = 'instalments' THEN 'instalments:' || m.instalments ELSE 'lump_sum' END END AS repayment_terms,
    CASE WHEN reason LIKE 'eligible_%' THEN m.filed_as END AS measure
FROM decided
LEFT JOIN measure m USING (region_code)
ORDER BY unit_id
