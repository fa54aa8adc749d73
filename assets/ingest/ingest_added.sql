-- The repeated keys of a run that keeps earlier inputs' files (assets/ingest/resolve.py): only the keys
-- repeated before (kept_repeated) and the new rows' keys can be repeated now; any other key occurs once,
-- in an earlier row. So those keys are looked for among the earlier rows, and counted.
-- new_rows: the new inputs' valid rows; old_rows: the rows of the kept inputs that carry a key of a new
-- input whose range they meet (resolve.py, reading new_keys).
CREATE OR REPLACE TEMP TABLE typed_new AS SELECT * FROM ${new_rows};

-- each new row's key hashes with its raw file (an earlier file is searched for the keys of the new files
-- it may share a key with only)
CREATE OR REPLACE TEMP TABLE new_keys AS SELECT DISTINCT key_no, h, source_file FROM (${new_key_hashes});

CREATE OR REPLACE TEMP TABLE looked_for AS
SELECT DISTINCT key_no, h FROM new_keys
UNION
SELECT key_no, h FROM kept_repeated;

-- the earlier rows that carry a looked-for key, without an aggregate of every row: the last run's
-- candidates of the kept inputs (every row of a key repeated before), and the rows of the kept inputs
-- that carry a new key (old_rows: one scan of their key hashes); a row found both ways counts once
CREATE OR REPLACE TEMP TABLE old_hits AS
SELECT * FROM ${old_rows}
UNION
SELECT * FROM ${kept_candidates} WHERE ${looked_for};

-- every row with a looked-for key is in old_hits or typed_new, so its count there is exact
CREATE OR REPLACE TEMP TABLE repeated_keys AS
SELECT key_no, h FROM (${hit_key_hashes}) SEMI JOIN looked_for USING (key_no, h)
GROUP BY ALL HAVING count(*) > 1;

-- run after resolved is made (ingest_resolved.sql): the earlier files with a row accepted now and not
-- before, or the other way round (a row not among the candidates is accepted; a candidate is when it is
-- the first copy of its key and conflicts with no row, now in resolved, before in the last run's
-- candidates): their inputs' files are written again
SELECT DISTINCT o.source_file
FROM old_hits o
LEFT JOIN (SELECT source_file, source_line, copy_no = 1 AND conflict = '' AS accepted FROM resolved) r
    USING (source_file, source_line)
LEFT JOIN ${accepted_before} b USING (source_file, source_line)
WHERE coalesce(r.accepted, true) IS DISTINCT FROM coalesce(b.accepted, true)
