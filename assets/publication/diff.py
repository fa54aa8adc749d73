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


def relation(folder: Path, months: list[str] | None = None) -> str:
    """A published table folder as a query (Hive-partitioned by report_month or not); only the
    report months ``months`` where given."""
    globs = [folder / "**"] if months is None else [folder / f"report_month={m}" for m in months]
    globs = [g / "*.parquet" for g in globs]
    return f"read_parquet([{', '.join(q(g) for g in globs)}], hive_partitioning = true)"


def _digests(con, folder: Path, months: list[str] | None) -> dict[str | None, tuple[int, str]]:
    """(rows, digest) of a published table (``months`` None), or of each of its report months
    ``months``: the MD5 of the row count and the exact sum of the rows' hashes (DuckDB's 64-bit
    ``hash`` of the row, summed as a HUGEINT), so neither the rows' order nor how they are split into
    files changes it, and a row added twice counts twice. A sum needs no sort (the sorted list of row
    hashes it replaced took almost twice as long), and DuckDB's hash of the row's values needs no text of
    the row: the MD5 of each row's text it replaced took 13 times as long (a province's 1.14 million
    obligations: 1.15 -> 0.09 s). The hash is DuckDB's own, so a DuckDB upgrade changes every digest once
    (then each table is compared row by row, as a changed one is)."""
    if months == []:
        return {}
    month, groups = ("report_month", "GROUP BY report_month") if months is not None else ("NULL", "")
    found = con.execute(
        f"SELECT {month}, count(*), coalesce(sum(hash(t)::HUGEINT), 0) FROM {relation(folder, months)} AS t {groups}"
    ).fetchall()
    out = {m: (rows, _combined(rows, total)) for m, rows, total in found}
    for m in months or []:  # a month written without rows has its (empty) file and its digest
        out.setdefault(m, (0, _combined(0, 0)))
    return out


def _combined(rows: int, total: int) -> str:
    return hashlib.md5(f"{rows}:{total}".encode()).hexdigest()


def publication_digests(con, folder: Path, known: dict | None = None) -> dict[str, dict]:
    """Per published table its rows and digest, and per report month for the history tables, whose
    digest is that of its months' digests. The months in ``known`` (table -> month -> rows and digest:
    files linked from the previous publication) are not read again."""
    out = {}
    for table in PUBLISHED_COLUMNS:
        if not any((folder / table).rglob("*.parquet")):
            continue
        if table not in HISTORY:
            rows, digest = _digests(con, folder / table, None)[None]
            out[table] = {"rows": rows, "digest": digest}
            continue
        months = sorted(p.name.split("=", 1)[1] for p in (folder / table).glob("report_month=*"))
        recorded = (known or {}).get(table, {})
        found = _digests(con, folder / table, [m for m in months if m not in recorded])
        each = {m: recorded[m] if m in recorded else {"rows": found[m][0], "digest": found[m][1]} for m in months}
        whole = hashlib.md5(",".join(f"{m}:{e['digest']}" for m, e in each.items()).encode()).hexdigest()
        out[table] = {"rows": sum(e["rows"] for e in each.values()), "digest": whole, "months": each}
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
