-- Each person of the province's employee events with their person_key (SPEC section 4: HMAC-SHA256
-- under DEFERRAL_PII_KEY, a Python function), computed once per report-month step and province: the
-- repayment schedule of every month names the persons of its obligations by it, and keying them
-- again each month was a fifth of that step's time at province scale.
CREATE OR REPLACE TEMP TABLE person_keys AS
SELECT DISTINCT person_id, person_key(person_id) AS person_key
FROM clean.employee_events
WHERE person_id IS NOT NULL
