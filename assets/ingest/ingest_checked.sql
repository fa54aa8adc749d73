-- Every staged record with its cleaned cells (trimmed, empty -> NULL), read from the staged
-- Parquet as needed: the table's rows are never held in memory. ${scope}: the rows this step
-- judges (TRUE, or a province's share: assets/ingest/shares.py).
CREATE OR REPLACE TEMP VIEW cleaned AS
SELECT * FROM (
    SELECT source_file, source_line, ${cleaned_cells}
    FROM read_parquet(${staged_glob})
)
WHERE ${scope};

-- The records that break a rule, with every rule they break (one pass over the rows); these are
-- few, so they are the only rows kept. Great Expectations may add its own (gx_runner.py).
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT source_file, source_line, rules
FROM (SELECT source_file, source_line, ${rules} AS rules FROM cleaned)
WHERE rules <> '';

-- Every record with the SQL's verdict: '' when it breaks no rule.
CREATE OR REPLACE TEMP VIEW checked AS
SELECT c.*, coalesce(r.rules, '') AS rules
FROM cleaned c LEFT JOIN rejected r USING (source_file, source_line);
