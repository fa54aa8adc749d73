-- One row per rejected input record: where it came from, the rules it broke, its raw cells. The
-- judging pass kept the raw cells of the records that break a rule; only key conflicts and records
-- only Great Expectations rejected are looked up in the staged files (${staged}: those files, or
-- an empty relation when there are none, so the common case reads no staged row again).
CREATE OR REPLACE TEMP TABLE quarantined AS
SELECT source_file, source_line, rules AS rule, raw_values FROM rejected
UNION ALL
SELECT source_file, source_line, conflict, NULL FROM resolved WHERE conflict <> '';

-- Tables, not views: in one query DuckDB built the join's hash table on every staged record
-- instead of on these few.
CREATE OR REPLACE TEMP TABLE raw_missing AS
SELECT source_file, source_line FROM quarantined WHERE raw_values IS NULL;

CREATE OR REPLACE TEMP TABLE looked_up AS
SELECT source_file, source_line, to_json(struct_pack(${raw_struct}))::VARCHAR AS raw_values
FROM ${staged} s
JOIN raw_missing USING (source_file, source_line);

SELECT q.source_file, q.source_line, q.rule, coalesce(q.raw_values, l.raw_values) AS raw_values, ${hint} AS hint
FROM quarantined q LEFT JOIN looked_up l USING (source_file, source_line)
UNION ALL
SELECT source_file, source_line, 'field_count:record', to_json(struct_pack(csv_line := csv_line))::VARCHAR,
    ${field_count_hint}
FROM read_parquet(${rejects})
