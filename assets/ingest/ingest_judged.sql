-- One pass over the records of one input (${records}: the staged Parquet of the CSV files, or one
-- Parquet file read in place, its typed columns kept as they are): each record's verdict (every rule
-- it breaks, '' when none), the raw cells of the records that break one (what the quarantine shows),
-- and the typed cells (TRY_CAST: a row that breaks a rule may not cast; a row that breaks none always
-- does), so that later passes read compact typed columns instead of cleaning and casting the text again.
-- A column whose format settles a raw cell that matches it (rules.settled_columns) is matched once
-- (matched: "ok:<column>"), and only the cells that do not match are cleaned and judged by format.
-- Small inputs read alike are judged together (assets/ingest/judging.py): each record then carries
-- its input's number (_input), and the write is partitioned by it, a file an input.
COPY (
    SELECT ${carried}source_file, source_line, rules,
        CASE WHEN rules <> '' THEN to_json(struct_pack(${raw_struct}))::VARCHAR END AS raw_values,
        ${typed}
    FROM (
        SELECT *, ${rules} AS rules
        FROM (
            SELECT ${carried}source_file, source_line, ${flags}${cleaned_cells}, ${raw_cells}
            FROM (SELECT *${matched} FROM ${records})
        )
    )
) TO ${judged} (FORMAT parquet${partitioned});
