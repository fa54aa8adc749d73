-- What every report month needs of the contributions, summed once (SPEC section 3: a period's
-- assessment never changes once known): per unit and period the assessed components and the
-- insured persons. Report months read this table, cut to periods up to the month.
-- persons: accepted contributions are unique on (unit_id, person_id, period) (ingest quarantines
-- every row of a key that repeats), so a unit's rows of a period are its distinct persons; a plain
-- count is a hash aggregate that spills, where count(DISTINCT) held every group's persons in memory
-- (out of memory at province scale).
SELECT unit_id, period,
    sum(employer_medical) AS employer_medical,
    sum(employer_maternity) AS employer_maternity,
    sum(employee_medical) AS employee_medical,
    count(*) AS persons
FROM contributions
GROUP BY ALL
ORDER BY unit_id, period
