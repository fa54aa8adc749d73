-- The assessment of each person with an employee event, per unit and period: all the repayment
-- schedule needs to compute a departing, retiring or transferring person's share (SPEC section 3),
-- without reading the contributions again each report month.
-- Only the periods a deferral window can hold (window_first_period() to window_last_period(), from the
-- profiles): a share is of a window period's deferred amount, and the bounds, constants, let DuckDB skip
-- every other month's row groups by their statistics (a province's 105 million rows: 6.0 -> 2.7 s).
SELECT c.unit_id, c.person_id, c.period, c.employer_medical, c.employer_maternity
FROM contributions c
SEMI JOIN employee_events e USING (unit_id, person_id)
WHERE c.period BETWEEN window_first_period() AND window_last_period()
ORDER BY c.unit_id, c.person_id, c.period
