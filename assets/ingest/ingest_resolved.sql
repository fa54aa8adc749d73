-- Valid rows, typed; exact duplicates (equal after normalisation) keep their first copy in
-- file and line order; among first copies, rows sharing a key but differing are conflicts.
-- Only rows whose key (hashed) occurs more than once can be either, so only they are ranked:
-- a hash collision merely adds a candidate, which the exact comparison then clears.
CREATE OR REPLACE TEMP VIEW typed AS
SELECT source_file, source_line, ${typed}
FROM checked
WHERE rules = '';

CREATE OR REPLACE TEMP TABLE resolved AS
WITH flagged AS (
    SELECT *, ${candidate} AS candidate FROM typed
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY ${all_columns} ORDER BY source_file, source_line) AS copy_no
    FROM flagged
    WHERE candidate
)
SELECT * EXCLUDE (candidate), 1::BIGINT AS copy_no, '' AS conflict FROM flagged WHERE NOT candidate
UNION ALL
SELECT * EXCLUDE (candidate), ${conflict} AS conflict FROM ranked WHERE copy_no = 1
UNION ALL
SELECT * EXCLUDE (candidate), '' AS conflict FROM ranked WHERE copy_no > 1;
