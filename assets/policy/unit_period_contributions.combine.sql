-- unit_period_contributions from the sums of each accepted-row file of the contributions (parts: the
-- same SQL run on each file alone, assets/monthly_sql.py): a (unit, person, period) key is accepted
-- once across files, so a unit's period sums and persons add up over files.
SELECT unit_id, period,
    sum(employer_medical) AS employer_medical,
    sum(employer_maternity) AS employer_maternity,
    sum(employee_medical) AS employee_medical,
    sum(persons)::BIGINT AS persons
FROM parts
GROUP BY ALL
ORDER BY unit_id, period
