-- One row when the units by status differ from the units with a ledger deferral, a unit has two
-- statuses, or regarded_as_paid is not exactly "not in arrears".
WITH l AS (
    SELECT count(*) AS units
    FROM (SELECT unit_id FROM deferral_ledger GROUP BY unit_id HAVING sum(deferred_amount) > 0)
), s AS (
    SELECT count(*) AS units, count(DISTINCT unit_id) AS distinct_units,
        count(*) FILTER (WHERE regarded_as_paid = (status = 'in_arrears')) AS wrong_flag
    FROM unit_status
)
SELECT l.units, s.units, s.distinct_units, s.wrong_flag FROM l, s
WHERE l.units <> s.units OR s.units <> s.distinct_units OR s.wrong_flag > 0
