-- 分户传递: the plan health sends to tax, per unit, period and component: the planned deferral
-- and the date it must be repaid by (the unit-level date, capped by a known deregistration).
SELECT l.unit_id, l.uscc, d.unit_name, l.region_code, d.policy_id, l.period, l.component,
    l.deferred_amount AS planned_deferral,
    CASE WHEN d.deregistered_on < d.unit_due_date THEN d.deregistered_on ELSE d.unit_due_date END AS due_date
FROM deferral_ledger l
JOIN deferral_decisions d USING (unit_id)
WHERE l.deferred_amount > 0
ORDER BY l.unit_id, l.period, l.component
