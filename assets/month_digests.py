"""What a province's report month was computed from, as a digest, so that a month whose inputs did
not change is not computed again (monthly operation: a new month costs that month, not all history).

A partition's digest (``<asset>/<YYYY-MM>/<policy_id>.digest`` beside its Parquet) covers:
- the code: every ``.py``, ``.sql`` and ``.yaml`` under ``assets/``, the GX suites and DuckDB's
  version (a changed rule, parameter file or engine recomputes everything);
- the policy profiles in use (their content hashes);
- each clean input *as known on the month's last day* (SPEC section 1): the province's rows dated on
  or before the month (``known_from``), with the later facts known by then (``later_facts``), summed
  as row hashes per month, so a late record for 2022-11 changes the digests of 2022-11 onwards only;
- each upstream report-month input's own digest for the same province and month; a table that
  serves every month (the per-unit summaries) counts as the clean tables it is computed from.
Outputs are functions of these inputs (the SQL reads nothing else: assets/monthly_sql.py), so equal
digests mean equal bytes; ``deferral run --full`` recomputes regardless.
"""

import json
from pathlib import Path

import duckdb

from assets.contracts import RAW_TABLES, RawTable
from assets.monthly_sql import clean_source
from assets.province_scope import create_scope, scoped_sql
from assets.resources import Warehouse
from assets.storage import ident, q
from assets.versions import profiles_digest

BEFORE_ANY_MONTH = "0000-00"
_known: dict[tuple, dict[str, str]] = {}


def _month(table: RawTable, column: str) -> str:
    return f"strftime({ident(column)}, '%Y-%m')" if table.column_type(column) == "DATE" else ident(column)


def known_by_month(con: duckdb.DuckDBPyConnection, table: RawTable, relation: str, months: list[str]) -> dict[str, str]:
    """For each report month, a digest of ``relation``'s rows (a table of ``table``'s columns) as known
    on its last day: rows counted and their hashes summed from the month each became known, a
    row's later fact (a deregistration) counted from the month it became known."""
    columns = list(table.columns)
    known = (
        f"coalesce({_month(table, table.known_from)}, '{BEFORE_ANY_MONTH}')"
        if table.known_from
        else f"'{BEFORE_ANY_MONTH}'"
    )
    later = table.later_facts[0] if table.later_facts else None
    if len(table.later_facts) > 1:
        raise ValueError(f"{table.name}: one later fact per table is supported")
    hidden = ", ".join("NULL" if c == later else ident(c) for c in columns)
    shown = ", ".join(ident(c) for c in columns)
    events = "SELECT k AS m, count(*) AS n, sum(h0) AS s FROM r GROUP BY k"
    if later:
        events += (
            " UNION ALL SELECT greatest(k, l) AS m, 0 AS n, sum(h1 - h0) AS s FROM r WHERE l IS NOT NULL GROUP BY ALL"
        )
    rows = con.execute(f"""
        WITH r AS (SELECT {known} AS k, {_month(table, later) if later else "NULL"} AS l,
                          hash({hidden})::HUGEINT AS h0, hash({shown})::HUGEINT AS h1 FROM {relation})
        SELECT m, sum(n)::BIGINT, sum(s)::HUGEINT FROM ({events}) GROUP BY m ORDER BY m""").fetchall()
    out, n, s, i = {}, 0, 0, 0
    for month in months:
        while i < len(rows) and rows[i][0] <= month:
            n, s, i = n + rows[i][1], s + rows[i][2], i + 1
        out[month] = f"{n}:{s}"
    return out


def clean_digests(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, tables: list[str], province: str, months: list[str]
) -> dict[str, dict[str, str]]:
    """:func:`known_by_month` of each clean table's rows of ``province`` (as the report months read
    them, assets/province_scope.py), remembered in this process while the files it read stay the same
    (every report-month step of an in-process run reads the same contributions)."""
    units = warehouse.clean_path("units")
    out, scoped = {}, False
    for table in tables:
        source = clean_source(warehouse, table, province)
        files = sorted(source.parent.glob(source.name))
        key = (
            table,
            province,
            tuple(months),
            str(warehouse.root),
            profiles_digest(warehouse.profiles()),
            *((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in [*files, units]),
        )
        if key not in _known:
            if not scoped:
                create_scope(con, warehouse.profiles(), q(units), province)
                scoped = True
            relation = f"({scoped_sql(f'read_parquet({q(source)})', list(RAW_TABLES[table].columns))})"
            _known[key] = known_by_month(con, RAW_TABLES[table], relation, months)
        out[table] = _known[key]
    return out


def record_path(warehouse: Warehouse, name: str, month: str, province: str) -> Path:
    """``<name>/<month>/<province>.digest``: the partition's digest and what the UI shows of it."""
    return warehouse.policy_path(name, month, province).with_suffix(".digest")


def recorded(warehouse: Warehouse, name: str, month: str, province: str) -> dict:
    path = record_path(warehouse, name, month, province)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def record(warehouse: Warehouse, name: str, month: str, province: str, entry: dict) -> None:
    path = record_path(warehouse, name, month, province)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
