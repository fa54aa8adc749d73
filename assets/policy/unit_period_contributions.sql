-- What every report month needs of the contributions, summed once (SPEC section 3: a period's
-- assessment never changes once known): per unit and period the assessed components and the
-- insured persons. Report months read this table, cut to periods up to the month.
SELECT unit_id, period,
    sum(employer_medical) AS employer_medical,
    sum(employer_maternity) AS employer_maternity,
    sum(employee_medical) AS employee_medical,
    count(DISTINCT person_id) AS persons
FROM contributions
GROUP BY ALL
ORDER BY unit_id, period
