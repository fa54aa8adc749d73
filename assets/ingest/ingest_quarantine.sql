-- One row per rejected input record: where it came from, the rules it broke, its raw cells.
SELECT q.source_file, q.source_line, q.rule, to_json(struct_pack(${raw_struct}))::VARCHAR AS raw_values, ${hint} AS hint
FROM (
    SELECT source_file, source_line, rules AS rule FROM rejected
    UNION ALL
    SELECT source_file, source_line, conflict FROM resolved WHERE conflict <> ''
) q
JOIN read_parquet(${staged_glob}) s USING (source_file, source_line)
UNION ALL
SELECT source_file, source_line, 'field_count:record', to_json(struct_pack(csv_line := csv_line))::VARCHAR,
    ${field_count_hint}
FROM read_parquet(${rejects})
