"""A province's share of every input: the views a province partition's SQL reads.

Every row belongs to exactly one province, so the provinces' partitions add up to the whole:
- a row with a ``region_code`` belongs to the profile that lists the region;
- a row with a ``unit_id`` to the province of that unit;
- a row with only a ``uscc`` to the province of the unit holding it, and a USCC unknown to the
  units (a deferral the tax bureau registered that health never planned) to the province whose
  region is the USCC's registration code (characters 3-8, GB 32100), else whose province code
  starts with its characters 3-4, else to the first profile: it is reported once, never lost.
"""

from __future__ import annotations

import duckdb

from assets.profiles import PolicyProfile
from assets.storage import q


def uscc_fallback_sql(profiles: list[PolicyProfile], column: str = "uscc") -> str:
    """The province of a USCC no unit holds, as a SQL expression over ``column``."""
    ordered = sorted(profiles, key=lambda p: p.policy_id)
    whens = [
        f"WHEN substr({column}, 3, 6) IN ({', '.join(q(r) for r in p.regions)}) THEN {q(p.policy_id)}"
        for p in ordered
        if p.regions
    ]
    whens += [f"WHEN substr({column}, 3, 2) = {q(p.province_code[:2])} THEN {q(p.policy_id)}" for p in ordered]
    return f"CASE {' '.join(whens)} ELSE {q(ordered[0].policy_id)} END"


def create_scope(
    con: duckdb.DuckDBPyConnection, profiles: list[PolicyProfile], units_parquet: str, province: str
) -> None:
    """Temp tables ``scope_regions`` and ``unit_province`` (every unit's province) for ``province``."""
    rows = [(r, p.policy_id) for p in profiles for r in p.regions]
    con.execute("CREATE OR REPLACE TEMP TABLE region_province (region_code VARCHAR, policy_id VARCHAR)")
    if rows:
        con.executemany("INSERT INTO region_province VALUES (?, ?)", rows)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE unit_province AS
        SELECT u.unit_id, u.uscc, r.policy_id FROM read_parquet({units_parquet}) u JOIN region_province r USING
        (region_code)""")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE scope_regions AS SELECT region_code FROM region_province WHERE policy_id = "
        f"{q(province)}"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE scope_units AS SELECT unit_id FROM unit_province WHERE policy_id = {q(province)}"
    )
    con.execute(
        f"CREATE OR REPLACE MACRO in_scope_uscc(x, holder) AS coalesce(holder, {uscc_fallback_sql(profiles, 'x')}) = "
        f"{q(province)}"
    )


def scoped_sql(source: str, columns: list[str]) -> str:
    """``source`` (a relation) cut to the province of :func:`create_scope`, by the first of
    region_code, unit_id, uscc it has; a table with none of them (none today) is shared."""
    if "region_code" in columns:
        return f"SELECT * FROM {source} WHERE region_code IN (SELECT region_code FROM scope_regions)"
    if "unit_id" in columns:
        return f"SELECT * FROM {source} SEMI JOIN scope_units USING (unit_id)"
    if "uscc" in columns:
        return (
            f"SELECT s.* FROM {source} s LEFT JOIN unit_province h ON h.uscc = s.uscc "
            "WHERE in_scope_uscc(s.uscc, h.policy_id)"
        )
    return f"SELECT * FROM {source}"
