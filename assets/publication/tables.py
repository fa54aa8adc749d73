"""How each published table is written: its columns in the order of columns.yaml, rows in a fixed
order, into a file named after its content.

Most columns are the warehouse's own. SPEC section 7 adds columns that make the Parquet safe to
read with a bureau's own tools, computed here from what the publication knows:
- ``monthly_statistics``: ``level`` (``province`` on the province code's rows, else ``region``),
  ``region_name`` (the region names data; null where none is known) and ``policy_id``. A
  province's figure for a month is its row with level = province and category = all; no other
  row is a total.
- the snapshot tables: ``as_of_date``, the last day of the publication's report month.
- ``risk_watch``: ``flag_count``, equal to ``flags`` (kept for readers that use it).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from assets.months import last_day
from assets.profiles import region_names
from assets.publication.checks import contract
from assets.resources import Warehouse
from assets.storage import ident, q, write_parquet

# SPEC section 4 columns, in order (assets/publication/columns.yaml, with types and descriptions).
PUBLISHED_COLUMNS = {table: list(columns) for table, columns in contract().items()}

# tables published with every report month (Hive-partitioned by report_month), and their row order
HISTORY = {
    "monthly_statistics": "region_code, category",
    "repayment_notices": "unit_id, kind",
    "unit_status": "unit_id",
    "risk_watch": "unit_id, flag",
}
SNAPSHOTS = (
    "fund_reserve_status",
    "deferral_decisions",
    "deferral_ledger",
    "repayment_schedule",
    "reconciliation_discrepancies",
)
# the region directory the statistics are joined with (one row per region and province code)
DIRECTORY = "region_directory"


def derived_columns(table: str, month: str) -> dict[str, tuple[str, list[str]]]:
    """column -> (SQL over the warehouse row and the region directory, the columns it is made from)."""
    if table == "monthly_statistics":
        return {
            "level": (f"CASE WHEN {DIRECTORY}.is_province THEN 'province' ELSE 'region' END", ["region_code"]),
            "region_name": (f"{DIRECTORY}.region_name", ["region_code"]),
            "policy_id": (f"{DIRECTORY}.policy_id", ["region_code"]),
        }
    if table in SNAPSHOTS:
        return {"as_of_date": (f"DATE {q(str(last_day(month)))}", [])}
    if table == "risk_watch":
        return {"flag_count": ("flags", ["flags"])}
    return {}


def register_directory(con, warehouse: Warehouse) -> None:
    """``region_directory``: every policy's regions and province code with its name and policy."""
    rows = []
    for profile in warehouse.profiles():
        names = region_names(profile)
        rows.append((profile.province_code, names.known_name(profile.province_code), profile.policy_id, True))
        rows += [(r, names.known_name(r), profile.policy_id, False) for r in profile.regions]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {DIRECTORY} (region_code VARCHAR, region_name VARCHAR, policy_id VARCHAR, "
        "is_province BOOLEAN)"
    )
    if rows:
        con.executemany(f"INSERT INTO {DIRECTORY} VALUES (?, ?, ?, ?)", rows)


def _select(table: str, month: str, source: Path) -> str:
    """The published columns of ``table`` (report_month aside: it is the folder) from ``source``."""
    derived = derived_columns(table, month)
    items = [
        f"{derived[c][0]} AS {ident(c)}" if c in derived else f"w.{ident(c)}"
        for c in PUBLISHED_COLUMNS[table]
        if not (table in HISTORY and c == "report_month")
    ]
    join = f" LEFT JOIN {DIRECTORY} USING (region_code)" if table == "monthly_statistics" else ""
    return f"SELECT {', '.join(items)} FROM read_parquet({q(source)}) AS w{join}"


def _write_content_named(con, query: str, order: str, folder: Path) -> int:
    """``query`` ordered by ``order`` into ``folder/part-<sha256 of the bytes>.parquet``; returns rows
    written. The rows pass through a temp table first: DuckDB's Parquet bytes depend on how the
    rows were read (one file or several), and a published file must not depend on how many
    provinces made it."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE publishing AS {query}")
    rows = con.execute("SELECT count(*) FROM publishing").fetchall()[0][0]
    # (an empty table's bytes are the other way round: the same read directly, not through a table)
    relation = "publishing" if rows else f"({query})"
    tmp = folder / "part.tmp"
    n = write_parquet(con, f"SELECT * FROM {relation} ORDER BY {order}", tmp)
    con.execute("DROP TABLE publishing")
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
    tmp.replace(folder / f"part-{digest}.parquet")
    return n


def history_months(warehouse: Warehouse, table: str, month: str) -> list[str]:
    """The report months a publication as of ``month`` holds of a table published with every month."""
    return [m for m in warehouse.policy_months(table) if m <= month]


def link_files(source: Path, target: Path) -> list[Path]:
    """The Parquet files of a previous publication's folder linked into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    linked = []
    for old in sorted(source.glob("*.parquet")):
        os.link(old, target / old.name)
        linked.append(target / old.name)
    return linked


def write_table(
    con,
    warehouse: Warehouse,
    table: str,
    month: str,
    target: Path,
    kept: dict | None = None,
    previous: Path | None = None,
) -> int:
    """One published table as of ``month`` into ``target``; returns its rows. The report months in
    ``kept`` (month -> its recorded ``rows``) are linked from the publication ``previous``."""
    target.mkdir(parents=True, exist_ok=True)
    if table in HISTORY:  # every report month through the publication's, Hive-partitioned
        rows = 0
        for m in history_months(warehouse, table, month):
            folder = target / f"report_month={m}"
            if kept and m in kept:
                link_files(previous / table / folder.name, folder)
                rows += kept[m]["rows"]
            else:
                query = _select(table, m, warehouse.policy_path(table, m))
                rows += _write_content_named(con, query, HISTORY[table], folder)
        return rows
    columns = ", ".join(ident(c) for c in PUBLISHED_COLUMNS[table])
    return _write_content_named(con, _select(table, month, warehouse.policy_path(table, month)), columns, target)


def column_sources(table: str, month: str) -> dict[str, list[str]]:
    """published column -> the warehouse columns it comes from (the UI's column lineage)."""
    derived = derived_columns(table, month)
    return {c: derived[c][1] if c in derived else [c] for c in PUBLISHED_COLUMNS[table]}
