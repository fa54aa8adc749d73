-- Valid rows, typed (the judged pass wrote them; a row Great Expectations rejected since is in
-- rejected); exact duplicates (equal after normalisation) keep their first copy in file and line
-- order; among first copies, rows sharing a key but differing are conflicts.
CREATE OR REPLACE TEMP VIEW typed AS
SELECT source_file, source_line, ${all_columns}
FROM read_parquet(${judged}) j
ANTI JOIN rejected USING (source_file, source_line)
WHERE j.rules = '';

-- Only rows whose key (hashed) occurs more than once can be either: a hash aggregate finds those
-- keys, and only their rows are ranked. A hash collision merely adds a candidate, which the exact
-- comparison then clears.
CREATE OR REPLACE TEMP TABLE repeated_keys AS ${repeated_keys};

CREATE OR REPLACE TEMP TABLE resolved AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY ${all_columns} ORDER BY source_file, source_line) AS copy_no
    FROM typed
    WHERE ${candidate}
)
SELECT *, ${conflict} AS conflict FROM ranked WHERE copy_no = 1
UNION ALL
SELECT *, '' AS conflict FROM ranked WHERE copy_no > 1;

-- What is accepted: rows of a key seen once, streamed from the staged Parquet, and the first
-- copies among the candidates that conflict with no other row.
CREATE OR REPLACE TEMP VIEW accepted AS
SELECT ${all_columns}, source_file, source_line FROM typed WHERE NOT (${candidate})
UNION ALL
SELECT ${all_columns}, source_file, source_line FROM resolved WHERE copy_no = 1 AND conflict = '';
