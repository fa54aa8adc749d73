-- The assessment of each person with an employee event, per unit and period: all the repayment
-- schedule needs to compute a departing, retiring or transferring person's share (SPEC section 3),
-- without reading the contributions again each report month.
SELECT c.unit_id, c.person_id, c.period, c.employer_medical, c.employer_maternity
FROM contributions c
SEMI JOIN employee_events e USING (unit_id, person_id)
ORDER BY c.unit_id, c.person_id, c.period
