-- Every discrepancy open as of a report month (the month's reconciliation, all periods), with the
-- unit's name and statistics category for the bureau report's 差异明细 and its 核对一致. A unit
-- unknown to health has no region: its province is read from the USCC's division code (GB 32100
-- characters 3-4), so it is listed in its province's workbook. Only the workbook's province (its
-- regions, or its division code for a unit without a region), so a worker fetches no other's rows.
SELECT x.region_code, substr(x.uscc, 3, 2) AS division_province, x.uscc, coalesce(d.unit_name, '（医保无此单位）') AS unit_name,
    unit_category(d.unit_type, d.size_class) AS category,
    x.period, x.component, x.kind, x.health_amount, x.tax_amount, x.difference
FROM read_parquet(${discrepancies}) x
LEFT JOIN read_parquet(${decisions}) d USING (unit_id)
WHERE ${own}
ORDER BY x.region_code, x.period, x.kind, x.uscc, x.component
