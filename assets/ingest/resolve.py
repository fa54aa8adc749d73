"""A step's accepted rows across its inputs (SPEC section 4): exact duplicates keep their first copy in
file and line order, and rows sharing a key but differing are conflicts, whichever files they are in.
Written a file per input, so a month's run writes its new export's rows and keeps the others'.
跨文件判定重复与主键冲突；合格记录逐输入文件写入，新增月份只写新文件。

Only rows whose key (hashed) occurs more than once can be duplicates or conflicts (``repeated_keys``).
Each input's accepted rows go to a file of its own in the clean folder, ``part-<key>.parquet`` (the key
of its verdicts, ``judged-<key>.parquet``): its rows of the keys that occur once, and its rows that are
the first copy of a repeated key and conflict with no row (``firsts``). A first copy stays in its own
input's file, so a later export repeating an earlier row (a bureau's file of corrections) leaves the
earlier file as it was.

A run that keeps earlier inputs (a month's new exports; a re-exported file is a new input and its
old version gone) does not aggregate every row again. Only the keys repeated before
(``clean-repeated.parquet`` beside the step's verdicts) and the new rows' keys can be repeated now,
and counted among the rows that carry them (``ingest_added.sql``): the rows of the keys repeated
before are the last run's candidates (``clean-candidates.parquet``) of the inputs kept; the new keys
are looked for among the kept inputs' rows, but only in the inputs whose key columns' ranges (their
Parquet statistics) meet the new rows' in every column of a key: a month's export of period 2023-07
cannot share a key with the export of 2023-06, so that file is not read (``searched`` in the state).
A kept input's file is written again only when one of its rows is accepted now and was not before, or
the other way round (a row whose key is repeated now and that is not its first copy, or conflicts; or a
row of a key repeated before that is accepted now). An input is kept while its verdicts, the rejected
rows of its raw file and its clean file are those of the last run; every row is resolved as from
scratch when none is. Both give the same rows (tests/test_ingest_by_province.py,
tests/test_incremental.py).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assets.contracts import RawTable
from assets.ingest import rules as R
from assets.ingest.judging import BATCH_INPUTS, SMALL_INPUT_BYTES
from assets.ingest.shares import SQL_DIR
from assets.storage import PARQUET_OPTIONS, distribute, ident, q, scalar, sql_statements, write_parquet

# beside a step's verdicts: what its clean folder was resolved from, the keys repeated then and their rows
STATE = "clean-state.json"
REPEATED = "clean-repeated.parquet"
CANDIDATES = "clean-candidates.parquet"


def part_name(judged: Path) -> str:
    """The clean file of an input: named by the key of its verdicts."""
    return judged.name.replace("judged-", "part-", 1)


def resolve(con, table: RawTable, judged: list[Path], clean_dir: Path, incremental: bool = True) -> None:
    """Resolves the inputs ``judged`` (their verdicts files, in the step's order) into temp table
    ``resolved`` (each candidate row with its copy number and conflict) and writes the clean folder
    ``clean_dir``: a file per input, written or kept from the last run."""
    columns = ", ".join(ident(c) for c in table.columns)
    state_dir = judged[0].parent
    gx_only = scalar(con, "SELECT count(*) FROM rejected WHERE contains(rules, 'gx_only:')") > 0
    valid = lambda files: _typed(files, columns, gx_only)  # noqa: E731
    con.execute(f"CREATE OR REPLACE TEMP VIEW typed AS {valid(judged)}")
    earlier = _earlier(con, state_dir, judged, clean_dir) if incremental else None
    old = [p for p in judged if earlier and p.name in earlier["inputs"]]
    if not old:
        con.execute(f"CREATE OR REPLACE TEMP TABLE repeated_keys AS {R.repeated_keys_query(table)}")
        write, candidates_from, searched = list(judged), "typed", []
    else:
        new = [p for p in judged if p not in old]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE kept_repeated AS SELECT * FROM read_parquet({q(state_dir / REPEATED)})"
        )
        meets = _may_hold(con, table, old, new)
        searched = sorted(meets, key=old.index)
        kept_sources = sorted({earlier["inputs"][p.name][1] for p in old if earlier["inputs"][p.name][1]})
        candidates_from = "(SELECT * FROM old_hits UNION ALL SELECT * FROM typed_new)"
        *statements, touched = sql_statements(
            SQL_DIR / "ingest_added.sql",
            new_rows=f"({valid(new)})",
            old_rows=_old_rows(con, table, meets, valid),
            kept_candidates=(
                f"(SELECT source_file, source_line, {columns} FROM read_parquet({q(state_dir / CANDIDATES)}) "
                f"WHERE source_file IN ({', '.join(q(f) for f in kept_sources) or 'NULL'}))"
            ),
            new_key_hashes=R.key_hashes_query(table, "typed_new", also="source_file"),
            hit_key_hashes=R.key_hashes_query(table, candidates_from),
            looked_for=R.candidate_expression(table, "looked_for"),
            accepted_before=(
                f"(SELECT source_file, source_line, copy_no = 1 AND conflict = '' AS accepted "
                f"FROM read_parquet({q(state_dir / CANDIDATES)}) "
                f"WHERE source_file IN ({', '.join(q(f) for f in kept_sources) or 'NULL'}))"
            ),
        )
        for statement in statements:
            con.execute(statement)
    for statement in sql_statements(
        SQL_DIR / "ingest_resolved.sql",
        candidates_from=candidates_from,
        candidate=R.candidate_expression(table),
        all_columns=columns,
        conflict=R.conflict_expression(table),
    ):
        con.execute(statement)
    if old:
        files = {r[0] for r in con.execute(touched).fetchall()}
        write = new + [p for p in old if earlier["inputs"][p.name][1] in files]
    (state_dir / STATE).unlink(missing_ok=True)  # a step that dies midway resolves every row next time
    clean_dir.mkdir(parents=True, exist_ok=True)
    current = {part_name(p) for p in judged}
    for stale in clean_dir.glob("*"):
        if stale.name not in current:
            stale.unlink()
    sources = {p.name: _source_file(con, p) for p in write}
    _write_parts(con, table, write, clean_dir, columns, valid, sources)
    write_parquet(con, "SELECT key_no, h FROM repeated_keys", state_dir / REPEATED)
    write_parquet(
        con, f"SELECT source_file, source_line, {columns}, copy_no, conflict FROM resolved", state_dir / CANDIDATES
    )
    inputs = {p.name: [_identity(p), sources[p.name] if p in write else earlier["inputs"][p.name][1]] for p in judged}
    record = {"inputs": inputs, "rejected": _rejected(con), "searched": sorted(p.name for p in searched)}
    (state_dir / STATE).write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def _typed(judged: list[Path], columns: str, gx_only: bool) -> str:
    """The valid typed rows of the inputs ``judged`` (``ingest_typed.sql``); none: no rows. ``gx_only``:
    whether Great Expectations rejected rows the SQL accepted (then in ``rejected``, left out here)."""
    if not judged:
        return "SELECT * FROM typed LIMIT 0"
    files = "[" + ", ".join(q(p) for p in judged) + "]"
    not_gx_rejected = (
        "ANTI JOIN (SELECT source_file, source_line FROM rejected WHERE contains(rules, 'gx_only:')) "
        "USING (source_file, source_line)"
        if gx_only
        else ""
    )
    return sql_statements(
        SQL_DIR / "ingest_typed.sql", judged=files, all_columns=columns, not_gx_rejected=not_gx_rejected
    )[0]


def _identity(judged: Path) -> str:
    """An input's verdicts as written (judged again under the same name when one of its units was
    accepted or removed since)."""
    stat = judged.stat()
    return f"{stat.st_size} {stat.st_mtime_ns}"


def _source_file(con, judged: Path) -> str | None:
    """The raw file an input's rows come from (every row of an input comes from one file)."""
    row = con.execute(f"SELECT source_file FROM read_parquet({q(judged)}) LIMIT 1").fetchone()
    return row[0] if row else None


def _rejected(con) -> dict[str, list]:
    """Per raw file, the count and hash sum of its rejected rows."""
    total = "coalesce(sum(hash(source_file, source_line, rules)), 0)::VARCHAR"
    rows = con.execute(f"SELECT source_file, count(*), {total} FROM rejected GROUP BY 1").fetchall()
    return {f: [n, s] for f, n, s in rows}


def _earlier(con, state_dir: Path, judged: list[Path], clean_dir: Path) -> dict | None:
    """The last resolution's record, its ``inputs`` narrowed to those kept: still an input, with the same
    verdicts, the same rejected rows of its file and its clean file (None: nothing to keep). The others
    are new, and an earlier input not kept is as if removed."""
    if not all(p.exists() for p in (state_dir / REPEATED, state_dir / CANDIDATES)):
        return None
    try:
        state = json.loads((state_dir / STATE).read_text(encoding="utf-8"))
        now, rejected, none = {p.name: p for p in judged}, _rejected(con), [0, "0"]
        state["inputs"] = {
            name: (identity, source)
            for name, (identity, source) in state["inputs"].items()
            if name in now
            and _identity(now[name]) == identity
            and (clean_dir / part_name(now[name])).exists()
            and rejected.get(source, none) == state["rejected"].get(source, none)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # none, or written by another version
        return None
    return state


def _may_hold(con, table: RawTable, old: list[Path], new: list[Path]) -> dict[Path, list[Path]]:
    """Each kept input of ``old`` that may hold a row with a key of a ``new`` input's rows, with those new
    inputs: an old input may hold one when its values meet the new input's range in every column of a key,
    by the verdicts files' Parquet statistics (a column of another type than text, or without exact
    statistics, always meets). A key's rows agree on its columns, so an input outside a new input's range
    in one column of each key holds none of its keys. A month's export meets no earlier month's; a file
    of corrections, which spans the periods, meets them all, and they are searched for its keys alone."""
    if not old or not new:
        return {}
    columns = sorted({c for key in table.keys for c in key if table.column_type(c) == "VARCHAR"})
    ranges = _ranges(con, [*old, *new], columns)
    out = {}
    for p in old:
        met = [
            n
            for n in new
            if any(all(_meet(ranges[p].get(c), ranges[n].get(c)) for c in key if c in columns) for key in table.keys)
        ]
        if met:
            out[p] = met
    return out


def _old_rows(con, table: RawTable, meets: dict[Path, list[Path]], valid) -> str:
    """The rows of the kept inputs that carry a key of a new input they meet (:func:`_may_hold`): the
    inputs that meet the same new inputs are read together, for those inputs' keys (``new_keys``, by
    their raw file). ``valid``: the valid rows of some inputs, as a query (:func:`_typed`)."""
    groups: dict[tuple[str, ...], list[Path]] = {}
    for old, met in meets.items():
        sources = tuple(sorted(s for s in (_source_file(con, n) for n in met) if s is not None))
        if sources:
            groups.setdefault(sources, []).append(old)
    selects = [
        f"SELECT * FROM ({valid(files)}) WHERE "
        + R.candidate_expression(
            table, f"(SELECT key_no, h FROM new_keys WHERE source_file IN ({', '.join(q(s) for s in sources)}))"
        )
        for sources, files in sorted(groups.items())
    ]
    return "(" + (" UNION ALL ".join(selects) or "SELECT * FROM typed_new LIMIT 0") + ")"


def _ranges(con, files: list[Path], columns: list[str]) -> dict[Path, dict[str, tuple | None]]:
    """Per file and text column: (min, max, whether a value is NULL) from its row groups' statistics, or
    None where a row group has no exact statistics."""
    out: dict[Path, dict[str, tuple | None]] = {p: {} for p in files}
    if not columns:
        return out
    by_name = {str(p): p for p in files}
    rows = con.execute(
        "SELECT file_name, path_in_schema, min(stats_min_value), max(stats_max_value), sum(stats_null_count) > 0, "
        "bool_and(stats_null_count IS NOT NULL AND coalesce(min_is_exact AND max_is_exact, true) "
        "AND (stats_min_value IS NOT NULL OR stats_null_count = num_values)) "
        f"FROM parquet_metadata([{', '.join(q(p) for p in files)}]) "
        f"WHERE path_in_schema IN ({', '.join(q(c) for c in columns)}) GROUP BY ALL"
    ).fetchall()
    for name, column, low, high, nulls, exact in rows:
        out[by_name[name]][column] = (low, high, nulls) if exact else None
    for p in files:  # a file of no row groups holds no value
        for column in columns:
            out[p].setdefault(column, (None, None, False))
    return out


def _union(ranges: list[tuple | None]) -> tuple | None:
    if any(r is None for r in ranges):
        return None
    lows = [r[0] for r in ranges if r[0] is not None]
    highs = [r[1] for r in ranges if r[1] is not None]
    return (min(lows, default=None), max(highs, default=None), any(r[2] for r in ranges))


def _meet(a: tuple | None, b: tuple | None) -> bool:
    """Whether two (min, max, NULL present) ranges of a column may share a value (NULL keys hash alike)."""
    if a is None or b is None or (a[2] and b[2]):
        return True
    if a[0] is None or b[0] is None:
        return False
    return a[0] <= b[1] and b[0] <= a[1]


def _write_parts(
    con, table: RawTable, write: list[Path], clean_dir: Path, columns: str, valid, sources: dict[str, str | None]
) -> None:
    """Each input's accepted rows (its rows of the keys that occur once, and its first copies of the
    repeated keys that conflict with no row: ``firsts``), to its file: small inputs in one statement,
    partitioned by input (each partition's file renamed to its input's), a large one alone. Only the
    inputs whose raw file holds a first copy (``sources``: each input's) are joined with ``firsts``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE firsts AS "
        "SELECT source_file, source_line, true AS _first FROM resolved WHERE copy_no = 1 AND conflict = ''"
    )
    holding = {r[0] for r in con.execute("SELECT DISTINCT source_file FROM firsts").fetchall()}

    def accepted(rows: str, inputs: list[Path]) -> str:
        once = f"NOT ({R.candidate_expression(table)})"
        if not any(sources[p.name] in holding for p in inputs):
            return f"SELECT * FROM ({rows}) WHERE {once}"
        return (
            f"SELECT * EXCLUDE (_first) FROM ({rows}) LEFT JOIN firsts USING (source_file, source_line) "
            f"WHERE {once} OR _first"
        )

    small = [p for p in write if p.stat().st_size <= SMALL_INPUT_BYTES]
    alone = [p for p in write if p not in small]
    for start in range(0, len(small), BATCH_INPUTS):
        chunk = small[start : start + BATCH_INPUTS]
        work = clean_dir / "_writing"
        rows = " UNION ALL ".join(f"SELECT {n} AS _input, * FROM ({valid([p])})" for n, p in enumerate(chunk))
        con.execute(
            f"COPY (SELECT _input, {columns}, source_file, source_line FROM ({accepted(rows, chunk)})) "
            f"TO {q(work)} ({PARQUET_OPTIONS}, PARTITION_BY (_input), OVERWRITE true)"
        )
        alone += [chunk[n] for n in distribute(work, [clean_dir / part_name(p) for p in chunk])]
        shutil.rmtree(work, ignore_errors=True)
    for p in alone:
        write_parquet(
            con,
            f"SELECT {columns}, source_file, source_line FROM ({accepted(valid([p]), [p])})",
            clean_dir / part_name(p),
        )
