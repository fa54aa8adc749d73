"""Two publications compared table by table (SPEC section 7): rows added, removed and changed by
each table's key, with the old and new value of every changed column; and each table's content
digest, independent of row order and file layout, which PUBLICATION.json records (per report
month for the tables published with every month) so that unchanged tables are not compared.

``as_of_date`` (the publication's, or the notices' own month end) is never compared. A column one
publication lacks (an older one, before a column was added) is listed, not compared.
两次发布逐表比对：新增、删除与变更的记录，及其新旧值。
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from assets.publication.tables import HISTORY, PUBLISHED_COLUMNS
from assets.storage import ident, q

# SPEC section 7: the key of each table's rows
KEYS = {
    "fund_reserve_status": ["region_code"],
    "deferral_decisions": ["unit_id"],
    "deferral_ledger": ["unit_id", "period", "component"],
    "repayment_schedule": ["obligation_id"],
    "reconciliation_discrepancies": ["uscc", "period", "component", "kind"],
    "monthly_statistics": ["region_code", "report_month", "category"],
    "repayment_notices": ["report_month", "unit_id", "kind"],
    "unit_status": ["report_month", "unit_id"],
    "risk_watch": ["report_month", "unit_id", "flag"],
    # not in SPEC's list: the plan health sends tax has a row per unit, period and component
    "deferral_plan": ["unit_id", "period", "component"],
}
NOT_COMPARED = {"as_of_date"}


def relation(folder: Path) -> str:
    """A published table folder as a query (Hive-partitioned by report_month or not)."""
    return f"read_parquet({q(folder / '**' / '*.parquet')}, hive_partitioning = true)"


def _digests(con, folder: Path, by_month: bool) -> dict[str | None, tuple[int, str]]:
    """(rows, digest) of a published table under key None, and of each report month where ``by_month``:
    the MD5 of its rows' MD5s in sorted order, so neither the rows' order nor how they are split into
    files changes it. One read of the table gives both (GROUPING SETS)."""
    month, whole, groups = ("report_month", "grouping(report_month) = 1", "GROUP BY GROUPING SETS ((report_month), ())")
    if not by_month:
        month, whole, groups = "NULL", "TRUE", ""
    found = con.execute(
        f"SELECT {month}, {whole}, count(*), md5(coalesce(string_agg(h, ',' ORDER BY h), '')) "
        f"FROM (SELECT *, md5(CAST(t AS VARCHAR)) AS h FROM {relation(folder)} AS t) {groups}"
    ).fetchall()
    out = {None if is_whole else m: (rows, digest) for m, is_whole, rows, digest in found}
    if by_month:  # a month written without rows has its (empty) file and its digest
        for part in folder.glob("report_month=*"):
            out.setdefault(part.name.split("=", 1)[1], (0, hashlib.md5(b"").hexdigest()))
    return out


def publication_digests(con, folder: Path) -> dict[str, dict]:
    """Per published table its rows and digest, and per report month for the history tables."""
    out = {}
    for table in PUBLISHED_COLUMNS:
        if not any((folder / table).rglob("*.parquet")):
            continue
        digests = _digests(con, folder / table, by_month=table in HISTORY)
        rows, digest = digests.pop(None)
        entry: dict = {"rows": rows, "digest": digest}
        if table in HISTORY:
            entry["months"] = {m: {"rows": n, "digest": d} for m, (n, d) in sorted(digests.items())}
        out[table] = entry
    return out


def _columns(con, folder: Path) -> list[str]:
    return [c for c in con.sql(f"SELECT * FROM {relation(folder)} LIMIT 0").columns]


def _unchanged(keys: list[str]) -> dict:
    return {"keys": keys, "added": [], "removed": [], "changed": [], "columns_in_one_only": []}


def compare_table(con, old: Path, new: Path, table: str, months: list[str] | None = None) -> dict:
    """The rows of ``table`` added, removed and changed from publication ``old`` to ``new`` (each a
    publication folder), on the report months ``months`` only where given."""
    keys = KEYS.get(table) or [c for c in PUBLISHED_COLUMNS[table] if c not in NOT_COMPARED]
    if months is not None and not months:  # every month's digest is equal
        return _unchanged(keys)
    before, after = _columns(con, old / table), _columns(con, new / table)
    compared = [c for c in after if c in before and c not in keys and c not in NOT_COMPARED]
    only = sorted((set(before) ^ set(after)) - NOT_COMPARED)
    where = f"WHERE report_month IN ({', '.join(q(m) for m in months)})" if months is not None else ""
    con.execute(f"CREATE OR REPLACE TEMP VIEW diff_old AS SELECT * FROM {relation(old / table)} {where}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW diff_new AS SELECT * FROM {relation(new / table)} {where}")
    using = ", ".join(ident(k) for k in keys)
    shown = ", ".join(f"CAST({ident(k)} AS VARCHAR) AS {ident(k)}" for k in keys)
    order = ", ".join(ident(k) for k in keys)
    added = con.sql(f"SELECT {shown} FROM diff_new ANTI JOIN diff_old USING ({using}) ORDER BY {order}")
    removed = con.sql(f"SELECT {shown} FROM diff_old ANTI JOIN diff_new USING ({using}) ORDER BY {order}")
    changed_rows = []
    if compared:
        cells = " UNION ALL ".join(
            f"SELECT {', '.join(f'CAST(o.{ident(k)} AS VARCHAR) AS {ident(k)}' for k in keys)}, {q(c)} AS column_name, "
            f"CAST(o.{ident(c)} AS VARCHAR) AS old_value, CAST(n.{ident(c)} AS VARCHAR) AS new_value "
            f"FROM diff_old o JOIN diff_new n USING ({using}) WHERE o.{ident(c)} IS DISTINCT FROM n.{ident(c)}"
            for c in compared
        )
        rel = con.sql(f"SELECT * FROM ({cells}) ORDER BY {order}, column_name")
        changed_rows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    return {
        "keys": keys,
        "added": [dict(zip(added.columns, r)) for r in added.fetchall()],
        "removed": [dict(zip(removed.columns, r)) for r in removed.fetchall()],
        "changed": changed_rows,
        "columns_in_one_only": only,
    }


def compare(con, old: Path, new: Path, old_digests: dict | None = None, new_digests: dict | None = None) -> dict:
    """Every published table of ``old`` and ``new`` compared; a table (or report month) whose digests
    are recorded equal in both manifests is not read."""
    old_digests = old_digests or {}
    new_digests = new_digests or {}
    out = {}
    for table in PUBLISHED_COLUMNS:
        there = [any((p / table).rglob("*.parquet")) for p in (old, new)]
        if not any(there):
            continue
        if not all(there):
            out[table] = {**_unchanged(KEYS.get(table, [])), "table_in_one_only": "new" if there[1] else "old"}
            continue
        a, b = old_digests.get(table, {}), new_digests.get(table, {})
        if a.get("digest") and a.get("digest") == b.get("digest"):
            out[table] = _unchanged(KEYS.get(table, []))
            continue
        months = None
        if table in HISTORY and a.get("months") and b.get("months"):
            every = sorted(set(a["months"]) | set(b["months"]))
            months = [m for m in every if a["months"].get(m, {}).get("digest") != b["months"].get(m, {}).get("digest")]
        out[table] = compare_table(con, old, new, table, months)
    return out
