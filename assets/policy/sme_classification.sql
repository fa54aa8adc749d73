-- Size of every enterprise known at the as-of date (SPEC section 3 rule 6, section 5):
-- the latest register row's size_class; else that row's indicators by the 300号 table (its
-- industry code, else the unit's; longest listed prefix); else the latest commitment's
-- declared size; else none.
WITH known AS (
    SELECT * FROM units WHERE unit_type = 'enterprise'
), register AS (
    SELECT * FROM sme_classifications
    QUALIFY row_number() OVER (PARTITION BY uscc ORDER BY as_of DESC) = 1
), rows_ AS (
    SELECT k.unit_id, r.uscc IS NOT NULL AS has_register, r.size_class AS register_size,
        r.employees, r.operating_revenue, r.total_assets,
        coalesce(r.industry_code, k.industry_code) AS industry_code
    FROM known k LEFT JOIN register r ON r.uscc = k.uscc
), codes AS (
    -- each industry code's thresholds: those of its longest listed prefix, looked up once a code (a few
    -- hundred), not once a unit
    SELECT c.industry_code, t.category, t.x_cap, t.x_medium, t.x_small, t.y_cap, t.y_medium, t.y_small,
        t.z_cap, t.z_medium, t.z_small
    FROM (SELECT DISTINCT industry_code FROM rows_ WHERE industry_code IS NOT NULL) c
    JOIN sme_thresholds t ON starts_with(c.industry_code, t.prefix)
    QUALIFY row_number() OVER (PARTITION BY c.industry_code ORDER BY length(t.prefix) DESC) = 1
), categorised AS (
    SELECT r.*, t.category, t.x_cap, t.x_medium, t.x_small, t.y_cap, t.y_medium, t.y_small, t.z_cap, t.z_medium, t.z_small
    FROM rows_ r
    LEFT JOIN codes t ON t.industry_code = r.industry_code
), by_indicators AS (
    SELECT *,
        CASE
            WHEN NOT has_register OR category IS NULL
                 OR (x_cap IS NOT NULL AND employees IS NULL)
                 OR (y_cap IS NOT NULL AND operating_revenue IS NULL)
                 OR (z_cap IS NOT NULL AND total_assets IS NULL) THEN NULL
            WHEN coalesce(employees >= x_cap, TRUE) AND coalesce(operating_revenue >= y_cap * 10000, TRUE)
                 AND coalesce(total_assets >= z_cap * 10000, TRUE) THEN 'large'
            WHEN coalesce(employees >= x_medium, TRUE) AND coalesce(operating_revenue >= y_medium * 10000, TRUE)
                 AND coalesce(total_assets >= z_medium * 10000, TRUE) THEN 'medium'
            WHEN coalesce(employees >= x_small, TRUE) AND coalesce(operating_revenue >= y_small * 10000, TRUE)
                 AND coalesce(total_assets >= z_small * 10000, TRUE) THEN 'small'
            ELSE 'micro' END AS indicator_size
    FROM categorised
), commitment AS (
    SELECT unit_id, commitment_id, declared_size_class, requested_from, requested_to
    FROM commitments
    WHERE declared_size_class IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY signed_on DESC, commitment_id DESC) = 1
)
SELECT b.unit_id,
    coalesce(b.register_size, b.indicator_size, c.declared_size_class) AS size_class,
    CASE WHEN b.register_size IS NOT NULL THEN 'register'
         WHEN b.indicator_size IS NOT NULL THEN 'indicators'
         WHEN c.declared_size_class IS NOT NULL THEN 'commitment'
         ELSE 'none' END AS classification,
    b.category AS industry_category,
    CASE WHEN b.register_size IS NULL AND b.indicator_size IS NULL THEN c.commitment_id END AS commitment_id,
    CASE WHEN b.register_size IS NULL AND b.indicator_size IS NULL THEN c.requested_from END AS requested_from,
    CASE WHEN b.register_size IS NULL AND b.indicator_size IS NULL THEN c.requested_to END AS requested_to
FROM by_indicators b
LEFT JOIN commitment c USING (unit_id)
ORDER BY b.unit_id
