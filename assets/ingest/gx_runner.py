"""Great Expectations over what ingest read: each table's suite, row for row beside the SQL rules.

Ingest calls :func:`validate_rows` after the SQL rules have marked every staged row and before
anything is accepted. GX runs the suite over the cleaned cells in Arrow batches (results as counts
only, so Data Docs never hold a raw value), input by input (each staged file, or Parquet file read in
place): every row the SQL rejected and a deterministic sample of the rest (:func:`sample_one_in`), or
every row with --full-validation. An input's outcome is kept beside its verdicts
(assets/ingest/gx_records.py), so a month's run judges its new export, not every earlier one again.
Where an expectation's count differs from the SQL's, that expectation runs again on the input's
batches with row identifiers (source_file, source_line) to find the rows the two engines judge
differently. A row GX rejects and the SQL accepted is quarantined too, under the expectation's rule and
``gx_only:<column>`` (the stricter verdict wins); a row only the SQL rejects stays quarantined. The run
goes on; the check ``gx_verdicts_match_quarantine`` reports the disagreement as a warning (a defect in
the rules to fix), while a lost row stays a blocking failure of ``rows_accounted_for``. GX itself runs
where assets/ingest/gx_process.py says (a process of its own in ``deferral run``).
"""

from pathlib import Path
from typing import NamedTuple
from uuid import uuid4

import pyarrow as pa

from assets.contracts import RawTable, load_suite
from assets.ingest.gx_process import call, close_suite, counts, open_suite, unexpected_rows
from assets.ingest.gx_records import expectation_totals, keep_outcome, kept_outcomes, sum_expectations, write_docs_index
from assets.storage import ident, q


def _batches(con, table: RawTable, relation: str, batch_rows: int):
    """The rows GX judges (``relation``: an input's rows, or its sample, with their cleaned cells and the
    SQL's verdict), as Arrow tables of ``batch_rows``."""
    columns = ", ".join(ident(c) for c in table.columns)
    reader = con.sql(f"SELECT source_file, source_line, {columns} FROM {relation}").to_arrow_reader(batch_rows)
    # DuckDB hands out small record batches; gathered up to batch_rows, a table (or the sample) that fits
    # is one GX validation result, not one per chunk
    pending, size = [], 0
    for record_batch in reader:
        pending.append(record_batch)
        size += record_batch.num_rows
        if size >= batch_rows:
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending)


class GxInput(NamedTuple):
    """One input of a step as Great Expectations judges it: its records (source_file, source_line and
    each contract column as text) and its verdicts file (``judged-<key>.parquet``)."""

    records: str
    judged: Path


def sample_one_in(total: int, sample_rows: int | None) -> int:
    """GX judges every rejected row and one accepted row in k (a hash of its file and line): k the power
    of two that brings the step's ``total`` rows to at most ``sample_rows`` (1: every row; --full-validation
    passes None). A power of two changes only when the table doubles, so a month's new export leaves k,
    and every earlier input's kept outcome, as they were."""
    if sample_rows is None or total <= sample_rows:
        return 1
    return 1 << (-(-total // sample_rows) - 1).bit_length()


def validate_rows(
    con,
    table: RawTable,
    inputs: list[GxInput],
    cleaned_cells: str,
    docs: tuple[Path, Path] | None,
    batch_rows: int,
    sample_rows: int | None,
) -> dict:
    """Runs the suite over the rows :func:`sample_one_in` picks of the inputs no kept outcome covers, all
    in one pass, and keeps that pass's outcome beside their verdicts (assets/ingest/gx_records.py): a
    month's run judges its new export only, a run from scratch every input in one pass. Adds GX-only
    rejections (this pass's and the kept ones') to ``rejected`` (the SQL's rejected rows).

    Returns per-expectation totals (GX's unexpected, the SQL's, and how many rows only one engine
    rejected), the number of batches and what GX judged (mode, rows). ``docs``: the Data Docs site's root
    and this step's folder, linked from the root's index.html (None: not built); a step's pages show the
    rows it judged."""
    total = con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]
    one_in = sample_one_in(total, sample_rows)
    spec = load_suite(table.name)
    # an input of no rows (a province's folder with no file of its own) has nothing to judge
    judged = [i for i in inputs if con.execute(f"SELECT count(*) FROM read_parquet({q(i.judged)})").fetchall()[0][0]]
    folder = inputs[0].judged.parent if inputs else None
    groups = kept_outcomes(folder, [i.judged for i in judged], one_in, batch_rows) if folder else []
    covered = {name for members, _ in groups for name in members}
    outcomes = [outcome for _, outcome in groups]
    new = [i for i in judged if i.judged.name not in covered]
    suite = None
    if new:  # the suite's Data Docs are built once the pass's rejections are known
        suite = f"{table.name}-{uuid4().hex}"
        call(open_suite, suite, table.name, spec["expectations"], spec["meta"], docs[1] if docs else None)
        outcome = _judge(con, table, spec, suite, new, cleaned_cells, one_in, batch_rows)
        keep_outcome(folder, [i.judged for i in new], one_in, batch_rows, outcome)
        outcomes.append(outcome)
    for outcome in outcomes:  # GX-only rows join the quarantine (the stricter verdict)
        for rule, column, rows in outcome["added"]:
            _add_rejected(con, rule, column, [tuple(r) for r in rows])
    merged = sum_expectations(outcomes or [{"expectations": expectation_totals(spec), "batches": 0}])
    merged["coverage"] = {
        "mode": "full" if one_in == 1 else "sample",
        "rows_checked_by_sql": total,
        "one_in": one_in,
        "rows_evaluated_by_gx": sum(o["evaluated"] for o in outcomes),
    }
    if suite is not None:
        call(close_suite, suite)
    if docs is not None:
        write_docs_index(docs[0])
    return merged


def _judge(
    con, table: RawTable, spec: dict, suite: str, inputs: list[GxInput], cleaned: str, one_in: int, batch_rows: int
) -> dict:
    """One GX pass of the open ``suite`` (assets/ingest/gx_process.py) over ``inputs``' rows (each rejected
    row and one in ``one_in`` of the rest, by a hash of file and line), their cleaned cells and the SQL's
    verdict; its outcome."""
    records = " UNION ALL ".join(f"({i.records})" for i in inputs)
    verdicts = f"read_parquet([{', '.join(q(i.judged) for i in inputs)}])"

    def checked(rows: str) -> str:
        return (
            f"(SELECT c.*, coalesce(r.rules, '') AS rules FROM (SELECT source_file, source_line, {cleaned} "
            f"FROM ({rows})) c LEFT JOIN rejected r USING (source_file, source_line))"
        )

    relation = checked(records)
    if one_in > 1:  # the sample's raw cells read once, so only those are cleaned again
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE gx_sample_cells AS SELECT s.* FROM ({records}) s "
            f"SEMI JOIN (SELECT source_file, source_line FROM {verdicts} "
            f"WHERE rules <> '' OR hash(source_file, source_line) % {one_in} = 0) USING (source_file, source_line)"
        )
        relation = checked("SELECT * FROM gx_sample_cells")
    totals = expectation_totals(spec)
    batches = evaluated = 0
    for rows in _batches(con, table, relation, batch_rows):
        batches += 1
        evaluated += rows.num_rows
        by_key = {(kind, column): (n, bad) for kind, column, n, bad in call(counts, suite, rows)}
        for total in totals:
            n, bad = by_key[(total["expectation"], total["column"])]
            total["element_count"] += n
            total["unexpected_count"] += bad
    sql_counts = dict(
        con.execute(
            "SELECT r, count(*) FROM (SELECT unnest(string_split(rules, ';')) AS r "
            f"FROM {verdicts} WHERE rules <> '') GROUP BY r"
        ).fetchall()
    )
    added = []
    for total, expectation in zip(totals, spec["expectations"]):
        total["sql_rejected"] = sql_counts.get(total["rule"], 0)
        if total["sql_rejected"] != total["unexpected_count"]:
            rows = _resolve_disagreement(con, table, relation, batch_rows, expectation, total, verdicts)
            added.append((total["rule"], total["column"], rows))
    return {"expectations": totals, "batches": batches, "evaluated": evaluated, "added": added}


def _resolve_disagreement(
    con, table: RawTable, relation: str, batch_rows: int, expectation: dict, total: dict, verdicts: str
) -> list[tuple[str, int]]:
    """Finds the rows of ``relation`` (a pass's rows; ``verdicts``, their inputs' verdicts) only one engine
    rejects (``total``'s gx_only and sql_only); returns the rows GX rejects and the SQL does not, which
    join the quarantine."""
    suite = f"{table.name}_disagreement-{uuid4().hex}"
    call(open_suite, suite, f"{table.name}_disagreement", [expectation], {}, None)
    flagged: list[tuple[str, int]] = []
    for rows in _batches(con, table, relation, batch_rows):
        flagged += call(unexpected_rows, suite, rows)
    call(close_suite, suite)
    _flag(con, flagged)
    has_rule = _has_rule(total["rule"])
    gx_only = con.execute(
        f"SELECT g.source_file, g.source_line FROM gx_flagged g LEFT JOIN rejected r USING (source_file, source_line) "
        f"WHERE NOT {has_rule} ORDER BY 1, 2"
    ).fetchall()
    total["gx_only"] = len(gx_only)
    total["sql_only"] = con.execute(
        f"SELECT count(*) FROM rejected r SEMI JOIN {verdicts} USING (source_file, source_line) "
        f"ANTI JOIN gx_flagged USING (source_file, source_line) WHERE {has_rule}"
    ).fetchall()[0][0]
    return gx_only


def _has_rule(rule: str) -> str:
    return f"coalesce(list_contains(string_split(r.rules, ';'), {q(rule)}), false)"


def _flag(con, rows: list[tuple[str, int]]) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE gx_flagged (source_file VARCHAR, source_line BIGINT)")
    if rows:
        con.executemany("INSERT INTO gx_flagged VALUES (?, ?)", rows)


def _add_rejected(con, rule: str, column: str, rows: list[tuple[str, int]]) -> None:
    """``rows`` rejected by GX under ``rule`` and ``gx_only:<column>`` besides the SQL's rules."""
    if not rows:
        return
    _flag(con, rows)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gx_added AS
        SELECT g.source_file, g.source_line,
            concat_ws(';', nullif(r.rules, ''), {q(rule)}, {q("gx_only:" + column)}) AS rules, r.raw_values
        FROM gx_flagged g LEFT JOIN rejected r USING (source_file, source_line) WHERE NOT {_has_rule(rule)}""")
    con.execute(
        "DELETE FROM rejected r USING gx_added g WHERE r.source_file = g.source_file AND r.source_line = g.source_line"
    )
    con.execute("INSERT INTO rejected BY NAME SELECT * FROM gx_added")
