-- Every record's verdict, without its cells.
CREATE OR REPLACE TEMP VIEW verdicts AS
SELECT source_file, source_line, rules FROM read_parquet(${judged});

-- The records that break a rule: few, so the only rows held. Great Expectations may add its own
-- (gx_runner.py), which judges each input's records (or a sample of them) with their cleaned cells
-- and this verdict.
CREATE OR REPLACE TEMP TABLE rejected AS
SELECT source_file, source_line, rules, raw_values FROM read_parquet(${judged}) WHERE rules <> '';

-- The staged records as read (the raw cells), for the lookups of a few records by file and line:
-- every record of this step, read as needed from the staged Parquet of its CSV files and from its
-- Parquet files in place (${staged_rows}); the table's rows are never held in memory.
CREATE OR REPLACE TEMP VIEW staged AS
SELECT * FROM ${staged_rows};
