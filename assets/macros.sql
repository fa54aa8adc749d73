-- Shared SQL helpers for the policy assets. Money stays DECIMAL; divisions are done in whole fen
-- (HUGEINT) and rounded half-up, because DuckDB divides decimals in DOUBLE.
CREATE OR REPLACE MACRO first_day_of(p) AS strptime(p || '-01', '%Y-%m-%d')::DATE;
CREATE OR REPLACE MACRO last_day_of(p) AS last_day(strptime(p || '-01', '%Y-%m-%d')::DATE);
CREATE OR REPLACE MACRO add_months_p(p, n) AS strftime(strptime(p || '-01', '%Y-%m-%d')::DATE + to_months(n), '%Y-%m');
-- a / b rounded half-up (away from zero) to 4 decimals, exactly.
CREATE OR REPLACE MACRO fen_quotient(a, b) AS
    (sign(a) * ((abs(CAST(a * 100 AS HUGEINT)) * 20000 + CAST(b * 100 AS HUGEINT)) // (2 * CAST(b * 100 AS HUGEINT)))
     * 0.0001::DECIMAL(5, 4))::DECIMAL(18, 4);
-- person x deferred / assessed rounded half-up to the fen, exactly (all three non-negative).
CREATE OR REPLACE MACRO half_up_share(person, deferred, assessed) AS
    CASE WHEN assessed > 0 THEN
        (((2 * CAST(person * 100 AS HUGEINT) * CAST(deferred * 100 AS HUGEINT) + CAST(assessed * 100 AS HUGEINT))
          // (2 * CAST(assessed * 100 AS HUGEINT))) * 0.01::DECIMAL(3, 2))::DECIMAL(18, 2) END;
