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
import os
import threading
from pathlib import Path

import duckdb

from assets.contracts import RAW_TABLES, RawTable
from assets.monthly_sql import clean_source
from assets.province_scope import create_scope
from assets.resources import Warehouse
from assets.scoped_cuts import province_cuts
from assets.storage import ident, matching, q
from assets.versions import digest_of, profiles_digest, setup_digest

BEFORE_ANY_MONTH = "0000-00"
_known: dict[tuple, dict[str, str]] = {}


def _month(table: RawTable, column: str) -> str:
    return f"strftime({ident(column)}, '%Y-%m')" if table.column_type(column) == "DATE" else ident(column)


def _events(con: duckdb.DuckDBPyConnection, table: RawTable, files: list[Path]) -> dict[str, list[tuple]]:
    """Per file of ``files`` (of ``table``'s columns), the (month, rows, hash sum) its rows add to what is
    known from that month on: each row from the month it became known (``known_from``), a row's later
    fact (a deregistration) from the month it became known. One statement for the files (a month's run
    hashes a new file of each table, and a statement a file cost its planning each time)."""
    columns = list(table.columns)
    start = f"'{BEFORE_ANY_MONTH}'"
    known = f"coalesce({_month(table, table.known_from)}, {start})" if table.known_from else start
    later = table.later_facts[0] if table.later_facts else None
    if len(table.later_facts) > 1:
        raise ValueError(f"{table.name}: one later fact per table is supported")
    hidden = ", ".join("NULL" if c == later else ident(c) for c in columns)
    shown = ", ".join(ident(c) for c in columns)
    events = "SELECT f, k AS m, count(*) AS n, sum(h0) AS s FROM r GROUP BY f, k"
    if later:
        events += " UNION ALL SELECT f, greatest(k, l), 0, sum(h1 - h0) FROM r WHERE l IS NOT NULL GROUP BY ALL"
    out: dict[str, list[tuple]] = {str(f): [] for f in files}
    if not files:
        return out
    rows = con.execute(f"""
        WITH r AS (SELECT filename AS f, {known} AS k, {_month(table, later) if later else "NULL"} AS l,
                          hash({hidden})::HUGEINT AS h0, hash({shown})::HUGEINT AS h1
                   FROM read_parquet([{", ".join(q(f) for f in files)}], filename = true))
        SELECT f, m, sum(n)::BIGINT, sum(s)::HUGEINT FROM ({events}) GROUP BY f, m ORDER BY f, m""").fetchall()
    for f, m, n, total in rows:
        out[f].append((m, n, total))
    return out


def _files_events(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, table: RawTable, province: str, files: list[Path]
) -> list[tuple]:
    """The events of a province's rows in ``files``, summed over them: its own accepted rows of a table
    ingested by province (a file per input, assets/ingest/resolve.py), or its cuts of a table every
    province shares (assets/scoped_cuts.py). Each file's events are kept
    (``warehouse/month_events/<table>/<province>.json``, by the file's name, size and time), so a month's
    run hashes the rows of the files written since, not every row. The files hold the province's rows
    already (a province's step accepts its own units only, and judges an input again when one of its
    units is accepted or removed; a cut is made again when the units holding its keys change), so no
    scope is applied: a change of the units that changes them changes the files."""
    path = warehouse.root / "warehouse" / "month_events" / table.name / f"{province}.json"
    try:
        kept = {} if warehouse.recompute_all else json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    stats = {f: f"{f.stat().st_size} {f.stat().st_mtime_ns}" for f in files}
    now = {f.name: kept[f.name] for f in files if kept.get(f.name, {}).get("stat") == stats[f]}
    found = _events(con, table, [f for f in files if f.name not in now])
    now |= {Path(f).name: {"stat": stats[Path(f)], "events": [list(e) for e in events]} for f, events in found.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")  # two steps may write it at once
    tmp.write_text(json.dumps(now, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    totals: dict[str, list[int]] = {}
    for entry in now.values():
        for month, rows, sums in entry["events"]:
            total = totals.setdefault(month, [0, 0])
            total[0], total[1] = total[0] + rows, total[1] + int(sums)
    return [(m, n, s) for m, (n, s) in sorted(totals.items())]


def _cumulative(events: list[tuple], months: list[str]) -> dict[str, str]:
    """For each of ``months`` (ascending), the rows and hash sum known on its last day."""
    out, n, s, i = {}, 0, 0, 0
    for month in months:
        while i < len(events) and events[i][0] <= month:
            n, s, i = n + events[i][1], s + events[i][2], i + 1
        out[month] = f"{n}:{s}"
    return out


def clean_digests(
    con: duckdb.DuckDBPyConnection, warehouse: Warehouse, tables: list[str], province: str, months: list[str]
) -> dict[str, dict[str, str]]:
    """For each clean table and report month, a digest of the table's rows of ``province`` (as the
    report months read them, assets/province_scope.py) known on the month's last day. The rows are
    hashed once in this process while the files they come from stay the same (every report-month
    step of an in-process run reads the same contributions)."""
    units = warehouse.clean_path("units")
    out, scoped = {}, False
    for table in tables:
        source = clean_source(warehouse, table, province)
        files = matching(source)
        key = (
            table,
            province,
            profiles_digest(warehouse.profiles()),
            *((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in [*files, *matching(units)]),
        )
        if key not in _known and source == warehouse.clean_path(table, province) and RAW_TABLES[table].by_province:
            _known[key] = _files_events(con, warehouse, RAW_TABLES[table], province, files)
        elif key not in _known:
            if not scoped:
                create_scope(con, warehouse.profiles(), q(units), province)
                scoped = True
            # a table every province shares: the province's cuts of its files, which the report months read
            # too (assets/scoped_cuts.py), each cut's events kept, so a new month's export is hashed alone
            _known[key] = _files_events(
                con, warehouse, RAW_TABLES[table], province, province_cuts(con, warehouse, table, source, province)
            )
        out[table] = _cumulative(_known[key], sorted(months))
    return out


def inputs_by_month(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, months: list[str]) -> dict[str, str]:
    """For each report month, one digest of everything a report month can read: the code, the
    profiles and every clean table of every province as known on its last day."""
    fixed = [setup_digest(warehouse.profiles(), warehouse.pii_key)]
    known = {
        p.policy_id: clean_digests(con, warehouse, list(RAW_TABLES), p.policy_id, months) for p in warehouse.profiles()
    }
    return {
        m: digest_of([*fixed, *(f"{p} {t} {d[m]}" for p, by in sorted(known.items()) for t, d in by.items())])
        for m in months
    }


def first_changed_month(warehouse: Warehouse, months: list[str]) -> tuple[str | None, dict[str, str]]:
    """The first of ``months`` whose inputs (:func:`inputs_by_month`) differ from those of the last
    report-month run recorded in ``warehouse/monthly_inputs.json`` (None: none differs), and the
    current digests to record when this run succeeds. Months before it need no run at all."""
    path = warehouse.root / "warehouse" / "monthly_inputs.json"
    try:
        before = {} if warehouse.recompute_all else json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    with warehouse.connect() as con:
        now = inputs_by_month(con, warehouse, months)
    return next((m for m in months if before.get(m) != now[m]), None), now


def record_inputs(warehouse: Warehouse, now: dict[str, str]) -> None:
    """After a successful report-month run: what its months were computed from."""
    path = warehouse.root / "warehouse" / "monthly_inputs.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(now, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


# on a report-month run: the name of the inputs it was planned from (:func:`plan_inputs`), recorded when
# it succeeds and kept in the publication it makes
MONTH_INPUTS_TAG = "deferral/month_inputs"


def inputs_name(now: dict[str, str]) -> str:
    """One digest of every month's inputs (:func:`inputs_by_month`)."""
    return digest_of(json.dumps(now, sort_keys=True).split())


def plan_inputs(warehouse: Warehouse, now: dict[str, str]) -> str:
    """The inputs a report-month run is planned from, kept under their digest until the run succeeds
    (:func:`record_planned`): a run started by a sensor finishes in another process than the one that
    planned it. Recording what a run was planned from, never what is there when it ends, errs on the
    safe side: a later ingest's changes stay changed for the next run."""
    name = inputs_name(now)
    path = warehouse.root / "warehouse" / "monthly_inputs.planned" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(now, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
    return name


def record_planned(warehouse: Warehouse, name: str) -> bool:
    """After a successful report-month run planned by :func:`plan_inputs`: its inputs recorded."""
    path = warehouse.root / "warehouse" / "monthly_inputs.planned" / f"{name}.json"
    try:
        now = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # recorded already (the CLI, then the sensor), or never planned here
        return False
    record_inputs(warehouse, now)
    path.unlink(missing_ok=True)
    return True


def record_path(warehouse: Warehouse, name: str, month: str, province: str) -> Path:
    """``<name>/<month>/<province>.digest``: the partition's digest and what the UI shows of it."""
    return warehouse.policy_path(name, month, province).with_suffix(".digest")


def recorded(warehouse: Warehouse, name: str, month: str, province: str) -> dict:
    path = record_path(warehouse, name, month, province)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: the month is computed
        return {}


def record(warehouse: Warehouse, name: str, month: str, province: str, entry: dict) -> None:
    path = record_path(warehouse, name, month, province)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(entry, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    tmp.replace(path)
