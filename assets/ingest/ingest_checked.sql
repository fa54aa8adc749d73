-- Every record of this step with its cleaned cells (trimmed, empty -> NULL), read as needed from the
-- staged Parquet of its CSV files and from its Parquet files in place (${staged_rows}): the table's
-- rows are never held in memory.
CREATE OR REPLACE TEMP VIEW cleaned AS
SELECT source_file, source_line, ${cleaned_cells}
FROM ${staged_rows};

-- Every record's verdict, without its cells.
CREATE OR REPLACE TEMP VIEW verdicts AS
SELECT source_file, source_line, rules FROM read_parquet(${judged});

-- The records that break a rule: few, so the only rows held. Great Expectations may add its own
-- (gx_runner.py).
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT source_file, source_line, rules, raw_values FROM read_parquet(${judged}) WHERE rules <> '';

-- Every record with the SQL's verdict: '' when it breaks no rule.
CREATE OR REPLACE TEMP VIEW checked AS
SELECT c.*, coalesce(r.rules, '') AS rules
FROM cleaned c LEFT JOIN rejected r USING (source_file, source_line);

-- The staged records as read (the raw cells), for the lookups of a few records by file and line.
CREATE OR REPLACE TEMP VIEW staged AS
SELECT * FROM ${staged_rows};

-- The records Great Expectations judges when it judges a sample: gx_runner.py fills gx_sample_cells
-- with the raw cells of every rejected record and one in k of the rest, so only those are cleaned
-- again. (A table: in one query with the cleaning, DuckDB built its join's hash table on every
-- staged record instead of on the sample.)
CREATE OR REPLACE TEMP TABLE gx_sample_cells AS SELECT * FROM staged LIMIT 0;
CREATE OR REPLACE TEMP VIEW gx_sampled AS
SELECT c.*, coalesce(r.rules, '') AS rules
FROM (SELECT source_file, source_line, ${cleaned_cells} FROM gx_sample_cells) c
LEFT JOIN rejected r USING (source_file, source_line);
