-- One pass over the records of one input (${records}: the staged Parquet of the CSV files, or one
-- Parquet file read in place, its typed columns kept as they are): each record's verdict (every rule
-- it breaks, '' when none), the raw cells of the records that break one (what the quarantine shows),
-- and the typed cells (TRY_CAST: a row that breaks a rule may not cast; a row that breaks none always
-- does), so that later passes read compact typed columns instead of cleaning and casting the text again.
COPY (
    SELECT source_file, source_line, rules,
        CASE WHEN rules <> '' THEN to_json(struct_pack(${raw_struct}))::VARCHAR END AS raw_values,
        ${typed}
    FROM (
        SELECT *, ${rules} AS rules
        FROM (SELECT source_file, source_line, ${cleaned_cells}, ${raw_cells} FROM ${records})
    )
) TO ${judged} (FORMAT parquet);
