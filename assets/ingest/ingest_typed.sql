-- The valid rows of some of a step's inputs (judged: their verdicts files), typed: the judging pass
-- wrote them; a row Great Expectations rejected since is in rejected.
SELECT source_file, source_line, ${all_columns}
FROM read_parquet(${judged}) j
ANTI JOIN rejected USING (source_file, source_line)
WHERE j.rules = ''
