"""The judging pass (``ingest_judged.sql``) over the inputs of a step that have no kept verdicts.

Each input's verdicts are written to a file of its own (``judged-<key>.parquet``, kept for the next
run: assets/ingest/reuse.py). Small inputs that are read alike (the same columns typed, of the same
types: every staged CSV part, for one) are judged in one statement, each to its own file through
DuckDB's partitioned write: a bureau exports a table month by month, and a statement per monthly
file cost its planning and a write each time (a city's fourteen files of eight small tables: a
tenth of its ingest). A large input is judged alone (its partition's row groups would be held open
beside the others').
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from assets.contracts import RawTable
from assets.ingest import rules as R
from assets.ingest.shares import SQL_DIR
from assets.storage import distribute, ident, q, sql_statements, write_parquet

# inputs at most this large (their Parquet bytes) are judged together; larger ones alone
SMALL_INPUT_BYTES = 16 * 2**20
# inputs judged in one statement at most (each an open partition of the write)
BATCH_INPUTS = 32


class Input(NamedTuple):
    """One input of a step: ``name`` (what its verdicts are kept under), ``records`` (a query of its
    staged rows), ``typed`` (the columns judged by value: rules.typed_in_source) and ``batch`` (inputs
    of equal batch are judged in one statement; None: judged alone)."""

    name: str
    records: str
    typed: frozenset[str]
    batch: tuple | None


def batch_of(typed: frozenset[str], types: dict[str, str], size: int) -> tuple | None:
    """Inputs read alike (the typed columns and their exact types: a DECIMAL(10,1) amount is shown
    as 12.3, not 12.30) and small share a batch."""
    return tuple(sorted((c, types[c]) for c in typed)) if size <= SMALL_INPUT_BYTES else None


def judge(
    con, table: RawTable, regions: list[str], to_judge: list[tuple[Input, Path]], units_of: dict[Path, Path]
) -> None:
    """Writes each input's verdicts to its judged file (and, for a table naming units, its unit ids
    and whether each is accepted now to ``units_of[judged]``)."""
    batches: dict[object, list[tuple[Input, Path]]] = {}
    for item in to_judge:
        batches.setdefault(item[0].batch if item[0].batch is not None else item[1], []).append(item)
    for members in batches.values():
        for start in range(0, len(members), BATCH_INPUTS):
            chunk = members[start : start + BATCH_INPUTS]
            _judge_batch(con, table, regions, chunk)
            if table.references_unit:
                _units_batch(con, [units_of[judged] for _, judged in chunk], [judged for _, judged in chunk])


# an input's unit ids and whether each was accepted when it was judged; those accepted now differ
_UNITS_JUDGED = (
    "SELECT DISTINCT {carried}unit_id, unit_id IN (SELECT unit_id FROM accepted_units) AS accepted FROM {judged}"
)
UNITS_CHANGED = (
    "SELECT count(*) FROM read_parquet({units}) "
    "WHERE accepted IS DISTINCT FROM (unit_id IN (SELECT unit_id FROM accepted_units))"
)


def _judge_batch(con, table: RawTable, regions: list[str], members: list[tuple[Input, Path]]) -> None:
    """One statement over ``members`` (inputs of one batch): alone, straight to its file; together,
    partitioned by input into a working folder, each partition's file then renamed to its input's."""
    typed = members[0][0].typed
    together = len(members) > 1
    work = members[0][1].with_name(f"_judging-{os.getpid()}")
    target = work if together else members[0][1].with_name(members[0][1].name + ".tmp")
    records = (
        " UNION ALL ".join(f"SELECT {n} AS _input, * FROM ({i.records})" for n, (i, _) in enumerate(members))
        if together
        else members[0][0].records
    )
    raw = {c: ident(f"raw:{c}") for c in table.columns}
    settled = R.settled_columns(table, typed)
    (statement,) = sql_statements(
        SQL_DIR / "ingest_judged.sql",
        records=f"({records})",
        carried="_input, " if together else "",
        matched="".join(f", {flag}" for flag in R.settled_flags(table, settled)),
        flags="".join(f"{R.settled_flag(c)}, " for c in settled),
        cleaned_cells=R.cleaned_cells(table, typed, settled),
        rules=R.rules_expression(table, regions, typed, settled),
        raw_cells=", ".join(f"{ident(c)} AS {raw[c]}" for c in table.columns),
        raw_struct=", ".join(
            f"{ident(c)} := {f'CAST({raw[c]} AS VARCHAR)' if c in typed else raw[c]}" for c in table.columns
        ),
        typed=R.typed_cells(table, typed),
        judged=q(target),
        partitioned=", PARTITION_BY (_input), OVERWRITE true" if together else "",
    )
    con.execute(statement)
    if not together:
        target.replace(members[0][1])
        return
    for n in distribute(work, [judged for _, judged in members]):
        _judge_batch(con, table, regions, [members[n]])


def _units_batch(con, targets: list[Path], judged: list[Path]) -> None:
    """Each judged file's unit ids and whether each is accepted now, to its ``targets`` file: in one
    statement when there are several."""
    if len(judged) == 1:
        write_parquet(con, _UNITS_JUDGED.format(carried="", judged=f"read_parquet({q(judged[0])})"), targets[0])
        return
    work = targets[0].with_name(f"_units-{os.getpid()}")
    inputs = " UNION ALL ".join(
        f"SELECT {n} AS _input, unit_id FROM read_parquet({q(path)})" for n, path in enumerate(judged)
    )
    query = _UNITS_JUDGED.format(carried="_input, ", judged=f"({inputs})")
    con.execute(f"COPY ({query}) TO {q(work)} (FORMAT parquet, PARTITION_BY (_input), OVERWRITE true)")
    for n in distribute(work, targets):
        _units_batch(con, [targets[n]], [judged[n]])
