-- Region condition (SPEC section 3): months payable from the region's latest reserve row before
-- the profile's first period (and not after the as-of month); eligible when strictly above the
-- profile's threshold, compared on the exact quotient.
WITH regions AS (
    SELECT p.*
    FROM policy_regions p
    WHERE p.region_code IN (SELECT region_code FROM units)
       OR p.region_code IN (SELECT region_code FROM fund_reserves)
), latest AS (
    SELECT r.region_code, f.as_of_month, f.accumulated_balance, f.avg_monthly_expenditure
    FROM regions r
    JOIN fund_reserves f ON f.region_code = r.region_code
    WHERE f.as_of_month < r.first_period
    QUALIFY row_number() OVER (PARTITION BY r.region_code ORDER BY f.as_of_month DESC) = 1
)
SELECT r.region_code, r.policy_id, r.province_code, l.as_of_month, l.accumulated_balance, l.avg_monthly_expenditure,
    fen_quotient(l.accumulated_balance, l.avg_monthly_expenditure) AS months_payable,
    coalesce(CASE WHEN r.reserve_strictly_greater THEN l.accumulated_balance > r.reserve_months * l.avg_monthly_expenditure
                  ELSE l.accumulated_balance >= r.reserve_months * l.avg_monthly_expenditure END, FALSE) AS eligible,
    CASE WHEN l.as_of_month IS NULL THEN 'region_reserve_missing'
         WHEN NOT (CASE WHEN r.reserve_strictly_greater THEN l.accumulated_balance > r.reserve_months * l.avg_monthly_expenditure
                        ELSE l.accumulated_balance >= r.reserve_months * l.avg_monthly_expenditure END)
         THEN 'region_reserve_insufficient' END AS region_reason
FROM regions r
LEFT JOIN latest l USING (region_code)
ORDER BY r.region_code
