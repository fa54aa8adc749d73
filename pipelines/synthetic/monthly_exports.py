"""``deferral generate --through YYYY-MM``: the generated data as a bureau's monthly exports arrive.

Each table gets one file per month, ``raw/<table>/<table>_<YYYY-MM>.<csv|parquet>``, holding the
rows that became known that month (the table's dating column, ``known_from`` in contracts.yaml;
rows dated on or before the first report month in its file, rows without a date too). A later
``--through`` on the same data dir (same scale and seed) writes only the months that have no file
yet and changes no existing file, as exports really arrive. The planted bad rows and duplicates
(``zz_corrections.csv``) and ``raw/manifest.json`` come with the data's last month, whose files also
hold every row dated after it. The first call writes ``raw/generated-<scale>-<seed>.json``, which
lets later calls add months without ``--force``.
按月导出：每月只新增当月文件，既有文件不变。
"""

from __future__ import annotations

import json
from pathlib import Path

from assets.contracts import RAW_TABLES
from assets.months import months_between
from assets.storage import ident, q

# where each table's generated rows are (the generator's views)
SOURCES = {
    "units": "units_gen",
    "contributions": "contributions_v",
    "tax_payments": "tax_payments_gen",
    "tax_deferral_register": "tax_deferral_register_gen",
    "fund_reserves": "fund_reserves_gen",
    "sme_classifications": "sme_gen",
    "commitments": "commitments_gen",
    "elections": "elections_gen",
    "employee_events": "employee_events_gen",
}


def marker(raw: Path, scale: str, seed: int) -> Path:
    return raw / f"generated-{scale}-{seed}.json"


def may_add_months(raw: Path, scale: str, seed: int) -> bool:
    """Whether ``raw`` holds monthly exports of this scale and seed (a later --through may add to it)."""
    return marker(raw, scale, seed).exists()


def _month_of(table: str) -> str:
    t = RAW_TABLES[table]
    if not t.known_from:
        return "NULL"
    column = ident(t.known_from)
    return f"strftime({column}, '%Y-%m')" if t.column_type(t.known_from) == "DATE" else column


def write_months(con, raw: Path, first: str, last: str, through: str, bulk: bool, copy) -> dict[str, int]:
    """The files of every month from ``first`` through ``through`` that do not exist yet; returns rows
    written per table. ``last``: the data's last month; ``copy(con, query, path, fmt)`` writes a file."""
    written: dict[str, int] = {}
    for table, source in SOURCES.items():
        columns = ", ".join(ident(c) for c in RAW_TABLES[table].columns)
        fmt = "parquet" if bulk and table in ("contributions", "tax_payments") else "csv"
        month_of = _month_of(table)
        for month in months_between(first, min(through, last)):
            path = raw / table / f"{table}_{month}.{fmt}"
            if path.exists():
                continue
            if month == first == last:
                where = "TRUE"
            elif month == first:
                where = f"{month_of} IS NULL OR {month_of} <= {q(first)}"
            elif month == last:
                where = f"{month_of} >= {q(last)}"
            else:
                where = f"{month_of} = {q(month)}"
            query = f"SELECT {columns} FROM {source} WHERE {where}"
            copy(con, f"{query} ORDER BY {columns}", path, fmt)
            written[table] = written.get(table, 0) + con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]
    return written


def write_marker(raw: Path, scale: str, seed: int) -> None:
    path = marker(raw, scale, seed)
    if not path.exists():
        path.write_text(json.dumps({"scale": scale, "seed": seed}) + "\n", encoding="utf-8")
