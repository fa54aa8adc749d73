-- Every staged record of this step with its cleaned cells (trimmed, empty -> NULL), read from the
-- staged Parquet as needed: the table's rows are never held in memory.
CREATE OR REPLACE TEMP VIEW cleaned AS
SELECT source_file, source_line, ${cleaned_cells}
FROM read_parquet(${staged_glob});

-- One pass over the records: each one's verdict (every rule it breaks, '' when none) and its typed
-- cells (TRY_CAST: a row that breaks a rule may not cast; a row that breaks none always does), so
-- later passes read compact typed columns instead of cleaning and casting the text again.
COPY (
    SELECT source_file, source_line, rules, ${typed}
    FROM (SELECT *, ${rules} AS rules FROM cleaned)
) TO ${judged} (FORMAT parquet);

-- The records that break a rule: few, so the only rows held. Great Expectations may add its own
-- (gx_runner.py).
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT source_file, source_line, rules FROM read_parquet(${judged}) WHERE rules <> '';

-- Every record with the SQL's verdict: '' when it breaks no rule.
CREATE OR REPLACE TEMP VIEW checked AS
SELECT c.*, coalesce(r.rules, '') AS rules
FROM cleaned c LEFT JOIN rejected r USING (source_file, source_line);
