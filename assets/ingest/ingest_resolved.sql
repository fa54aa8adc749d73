-- Valid rows, typed; exact duplicates (equal after normalisation) keep their first copy in
-- file and line order; among first copies, rows sharing a key but differing are conflicts.
CREATE OR REPLACE TEMP TABLE resolved AS
WITH typed AS (
    SELECT source_file, source_line, ${typed}
    FROM checked
    WHERE rules = ''
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY ${all_columns} ORDER BY source_file, source_line) AS copy_no
    FROM typed
)
SELECT *, ${conflict} AS conflict FROM ranked WHERE copy_no = 1
UNION ALL
SELECT *, '' AS conflict FROM ranked WHERE copy_no > 1;
