-- Repeated keys when a run only adds inputs (assets/ingest/resolve.py): those of before (kept_repeated),
-- the new rows' keys that occur twice among them, and those that occur in an earlier row (new_rows: the
-- new inputs' valid rows; old_rows: the earlier inputs').
CREATE OR REPLACE TEMP TABLE typed_new AS SELECT * FROM ${new_rows};

CREATE OR REPLACE TEMP TABLE new_keys AS
SELECT key_no, h, count(*) AS n FROM (${new_key_hashes}) GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE looked_for AS
SELECT key_no, h FROM new_keys
UNION
SELECT key_no, h FROM kept_repeated;

-- the earlier rows that can be candidates now: one scan of their key hashes against the few looked for
CREATE OR REPLACE TEMP TABLE old_hits AS
SELECT * FROM ${old_rows} WHERE ${looked_for};

CREATE OR REPLACE TEMP TABLE repeated_keys AS
SELECT key_no, h FROM kept_repeated
UNION
SELECT key_no, h FROM new_keys WHERE n > 1
UNION
(SELECT key_no, h FROM (${old_key_hashes}) INTERSECT SELECT key_no, h FROM new_keys);

-- the earlier files holding a key repeated now and not before: their inputs' files are written again
SELECT DISTINCT source_file FROM old_hits WHERE (${repeated}) AND NOT (${repeated_before})
