-- Every staged record with its cleaned cells (trimmed, empty -> NULL) and the rules it breaks.
CREATE OR REPLACE TEMP TABLE checked AS
SELECT source_file, source_line, ${cleaned}, ${rules} AS rules
FROM (
    SELECT source_file, source_line, ${cleaned_cells}
    FROM read_parquet(${staged_glob})
);
