-- The valid rows of some of a step's inputs (judged: their verdicts files), typed: the judging pass
-- wrote them. A row Great Expectations rejected since (gx_only in its rules) is in rejected; every other
-- row there broke a SQL rule, so rules = '' leaves it out already. What follows FROM is the anti join with
-- the GX-only rows, or nothing when there are none (as usual): probing every row's file and line costs
-- a province's 43 million rows 0.6-0.8 s a read.
SELECT source_file, source_line, ${all_columns}
FROM read_parquet(${judged}) j
${not_gx_rejected}
WHERE j.rules = ''
