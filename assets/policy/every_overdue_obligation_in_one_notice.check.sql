-- Units whose overdue obligations (count, amount) are not exactly those of their one overdue notice.
WITH s AS (
    SELECT unit_id, count(*) AS n, sum(outstanding_amount) AS amount FROM repayment_schedule
    WHERE is_overdue(due_date, outstanding_amount) GROUP BY unit_id
), o AS (
    SELECT unit_id, count(*) AS notices, sum(obligations) AS n, sum(outstanding_amount) AS amount
    FROM repayment_notices WHERE kind = 'overdue' GROUP BY unit_id
)
SELECT unit_id, s.n, o.n, o.notices FROM s FULL JOIN o USING (unit_id)
WHERE o.notices IS DISTINCT FROM 1 OR s.n IS DISTINCT FROM o.n OR s.amount IS DISTINCT FROM o.amount
ORDER BY unit_id
