-- Exact duplicates (equal after normalisation) keep their first copy in file and line order; among
-- first copies, rows sharing a key but differing are conflicts. Only the rows whose key (hashed) occurs
-- more than once (repeated_keys) can be either, so only they are ranked (candidates_from: every valid
-- row, or the rows that can be candidates: assets/ingest/resolve.py). A hash collision merely adds a
-- candidate, which the exact comparison then clears.
CREATE OR REPLACE TEMP TABLE resolved AS
WITH ranked AS (
    SELECT *, row_number() OVER (PARTITION BY ${all_columns} ORDER BY source_file, source_line) AS copy_no
    FROM ${candidates_from}
    WHERE ${candidate}
)
SELECT *, ${conflict} AS conflict FROM ranked WHERE copy_no = 1
UNION ALL
SELECT *, '' AS conflict FROM ranked WHERE copy_no > 1;
