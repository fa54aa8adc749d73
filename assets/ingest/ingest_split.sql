-- Shared files (several provinces' rows in one file) are split while they are staged, in the one
-- write of their rows (assets/ingest/sources.py, stage_table): each row goes to the province of its
-- unit, so a province's step reads its own rows only (assets/ingest/shares.py). A row whose unit
-- is nobody's (unknown, or no unit_id) goes to ${orphans_to}, the first profile, so that it is
-- judged (and quarantined) exactly once. The unit is matched on the cleaned cell (trimmed, empty as
-- NULL), as the rules read it. unit_owner is a table of the step's database (not TEMP), so that files
-- staged side by side, each on a connection of its own, read it.
CREATE OR REPLACE TABLE unit_owner AS
SELECT u.unit_id AS owner_unit, r.policy_id
FROM read_parquet(${units}) u
JOIN (VALUES ${region_province}) r(region_code, policy_id) USING (region_code);

SELECT s.*, coalesce(owner.policy_id, ${orphans_to}) AS _province
FROM (${staged}) s
LEFT JOIN unit_owner owner ON owner.owner_unit = ${cleaned_unit_id}
