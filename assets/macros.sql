-- Shared SQL helpers for the policy assets. Money stays DECIMAL; divisions are done in whole fen
-- (HUGEINT) and rounded half-up, because DuckDB divides decimals in DOUBLE.
CREATE OR REPLACE MACRO first_day_of(p) AS strptime(p || '-01', '%Y-%m-%d')::DATE;
CREATE OR REPLACE MACRO last_day_of(p) AS last_day(strptime(p || '-01', '%Y-%m-%d')::DATE);
CREATE OR REPLACE MACRO add_months_p(p, n) AS strftime(strptime(p || '-01', '%Y-%m-%d')::DATE + to_months(n), '%Y-%m');
-- the months from period a to period b (negative when b is earlier)
CREATE OR REPLACE MACRO months_from(a, b) AS
    (left(b, 4)::INTEGER - left(a, 4)::INTEGER) * 12 + (right(b, 2)::INTEGER - right(a, 2)::INTEGER);
-- a / b rounded half-up (away from zero) to 4 decimals, exactly.
CREATE OR REPLACE MACRO fen_quotient(a, b) AS
    (sign(a) * ((abs(CAST(a * 100 AS HUGEINT)) * 20000 + CAST(b * 100 AS HUGEINT)) // (2 * CAST(b * 100 AS HUGEINT)))
     * 0.0001::DECIMAL(5, 4))::DECIMAL(18, 4);
-- person x deferred / assessed rounded half-up to the fen, exactly (all three non-negative).
CREATE OR REPLACE MACRO half_up_share(person, deferred, assessed) AS
    CASE WHEN assessed > 0 THEN
        (((2 * CAST(person * 100 AS HUGEINT) * CAST(deferred * 100 AS HUGEINT) + CAST(assessed * 100 AS HUGEINT))
          // (2 * CAST(assessed * 100 AS HUGEINT))) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2) END;
-- The statistics category of a unit (SPEC section 4): its size class for an enterprise, else its
-- kind; NULL for a unit that falls in no category (large, unclassified, public bodies).
CREATE OR REPLACE MACRO unit_category(unit_type, size_class) AS
    CASE WHEN unit_type = 'enterprise' AND size_class IN ('medium', 'small', 'micro') THEN size_class
         WHEN unit_type = 'individual_business' THEN 'individual_business'
         WHEN unit_type IN ('social_group', 'foundation', 'social_service_org', 'law_firm', 'accounting_firm',
                            'other_social_org') THEN 'social_org' END;
