-- The floor: only the work no implementation of this pipeline can avoid, as one DuckDB script.
-- It reads every raw contribution row once (CSV and Parquet as the bureaus export
-- them), sums assessments per unit x period x component, sums the assessments of the persons with
-- an employee event, and writes both as Parquet. No validation, no policy, no publication.
-- ${raw}: the data dir's raw/ folder; ${contributions}: every contribution file read as text (bench/benchmark.py
-- lists them); ${out}: where to write. Run by bench/benchmark.py.
SET preserve_insertion_order = false;

CREATE TEMP TABLE contributions AS
SELECT unit_id, person_id, period,
    TRY_CAST(employer_medical AS DECIMAL(18, 2)) AS employer_medical,
    TRY_CAST(employer_maternity AS DECIMAL(18, 2)) AS employer_maternity,
    TRY_CAST(employee_medical AS DECIMAL(18, 2)) AS employee_medical
FROM (${contributions});

COPY (
    SELECT unit_id, period, x.component, sum(x.amount) AS assessed
    FROM contributions
    CROSS JOIN LATERAL (VALUES ('employer_medical', employer_medical), ('employer_maternity', employer_maternity),
                               ('employee_medical', employee_medical)) x(component, amount)
    GROUP BY ALL
) TO '${out}/unit_period_component.parquet' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);

COPY (
    SELECT c.unit_id, c.person_id, sum(c.employer_medical) AS employer_medical, sum(c.employer_maternity) AS employer_maternity
    FROM contributions c
    SEMI JOIN (SELECT DISTINCT unit_id, person_id
               FROM read_csv('${raw}/employee_events/*.csv', all_varchar = true, header = true, ignore_errors = true)) e
        USING (unit_id, person_id)
    GROUP BY ALL
) TO '${out}/event_person_sums.parquet' (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1);
