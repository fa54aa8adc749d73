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
the rules to fix), while a lost row stays a blocking failure of ``rows_accounted_for``.
"""

import logging
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa

from assets.contracts import RawTable, load_suite
from assets.ingest.gx_records import expectation_totals, keep, kept, sum_expectations, write_docs_index
from assets.storage import ident, q

logging.getLogger("great_expectations").setLevel(logging.WARNING)
# Counts without examples: Data Docs and check metadata must never show a raw (person) value.
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 0, "include_unexpected_rows": False}
ROW_IDS = ["source_file", "source_line"]


def _gx():
    """Great Expectations, imported when a table is judged (a run that keeps every table never needs it:
    its import is a few seconds)."""
    import great_expectations

    return great_expectations


def _context(docs_dir: Path | None = None):
    context = _gx().get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    if docs_dir is not None:
        from assets.ingest.gx_views import site_config  # imports GX's views

        context.add_data_docs_site(site_name="deferral", site_config=site_config(docs_dir))
    return context


def _validation(context, name: str, expectations: list[dict], meta: dict | None = None):
    suite = context.suites.add(_gx().ExpectationSuite(name=name, expectations=expectations, meta=meta or {}))
    batch = (
        context.data_sources.add_pandas(f"{name}_rows")
        .add_dataframe_asset(name)
        .add_batch_definition_whole_dataframe("rows")
    )
    return context.validation_definitions.add(_gx().ValidationDefinition(name=f"{name}_suite", data=batch, suite=suite))


def _batches(con, table: RawTable, relation: str, batch_rows: int):
    """The rows GX judges (``relation``: an input's rows, or its sample, with their cleaned cells and the
    SQL's verdict), as pandas frames of ``batch_rows``."""
    columns = ", ".join(ident(c) for c in table.columns)
    reader = con.sql(f"SELECT source_file, source_line, {columns} FROM {relation}").to_arrow_reader(batch_rows)
    # DuckDB hands out small record batches; gathered up to batch_rows, a table (or the sample) that fits
    # is one GX validation result, not one per chunk
    pending, size = [], 0
    for record_batch in reader:
        pending.append(record_batch)
        size += record_batch.num_rows
        if size >= batch_rows:
            yield pa.Table.from_batches(pending).to_pandas()
            pending, size = [], 0
    if size:
        yield pa.Table.from_batches(pending).to_pandas()


class GxInput(NamedTuple):
    """One input of a step as Great Expectations judges it: its records (source_file, source_line and
    each contract column as text), its verdicts file (``judged-<key>.parquet``) and where its outcome is
    kept (``gx-<key>.json`` beside it)."""

    records: str
    judged: Path
    outcome: Path


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
    """Runs the suite over each input's rows that :func:`sample_one_in` picks, the input's outcome kept
    beside its verdicts while they are the same (a month's run judges its new export only); adds GX-only
    rejections to ``rejected`` (the SQL's rejected rows).

    Returns per-expectation totals (GX's unexpected, the SQL's, and how many rows only one engine
    rejected), the number of batches and what GX judged (mode, rows). ``docs``: the Data Docs site's root
    and this step's folder, linked from the root's index.html (None: not built); a step's pages show the
    inputs it judged."""
    total = con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]
    one_in = sample_one_in(total, sample_rows)
    spec = load_suite(table.name)
    judge = _InputJudge(con, table, spec, cleaned_cells, docs, batch_rows, one_in)
    outcomes = []
    for item in inputs:
        # an input of no rows (a province's folder with no file of its own) has nothing to judge
        if not con.execute(f"SELECT count(*) FROM read_parquet({q(item.judged)})").fetchall()[0][0]:
            outcome = {"expectations": expectation_totals(spec), "batches": 0, "evaluated": 0, "added": []}
        else:
            outcome = kept(item.outcome, item.judged, one_in, batch_rows) or judge(item)
        for rule, column, rows in outcome.pop("added"):  # GX-only rows join the quarantine (the stricter verdict)
            _add_rejected(con, rule, column, [tuple(r) for r in rows])
        outcomes.append(outcome)
    merged = sum_expectations(outcomes or [{"expectations": expectation_totals(spec), "batches": 0}])
    merged["coverage"] = {
        "mode": "full" if one_in == 1 else "sample",
        "rows_checked_by_sql": total,
        "one_in": one_in,
        "rows_evaluated_by_gx": sum(o["evaluated"] for o in outcomes),
    }
    if docs is not None:
        if judge.context is not None:
            judge.context.build_data_docs(site_names=["deferral"])
        write_docs_index(docs[0])
    return merged


class _InputJudge:
    """Judges one input with GX and keeps its outcome; the GX context is made at the first input judged
    (a step whose inputs are all kept does not import GX)."""

    def __init__(self, con, table, spec, cleaned_cells, docs, batch_rows, one_in):
        self.con, self.table, self.spec, self.cleaned = con, table, spec, cleaned_cells
        self.docs, self.batch_rows, self.one_in = docs, batch_rows, one_in
        self.context = self.validation = None

    def checked(self, records: str) -> str:
        """``records`` with their cleaned cells and the SQL's verdict ('' when none)."""
        return (
            f"(SELECT c.*, coalesce(r.rules, '') AS rules FROM (SELECT source_file, source_line, {self.cleaned} "
            f"FROM ({records})) c LEFT JOIN rejected r USING (source_file, source_line))"
        )

    def __call__(self, item: GxInput) -> dict:
        con, table = self.con, self.table
        if self.validation is None:
            self.context = _context(self.docs[1] if self.docs else None)
            self.validation = _validation(self.context, table.name, self.spec["expectations"], self.spec["meta"])
        relation = self.checked(item.records)
        if self.one_in > 1:  # the sample's raw cells read once, so only those are cleaned again
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE gx_sample_cells AS SELECT s.* FROM ({item.records}) s "
                f"SEMI JOIN (SELECT source_file, source_line FROM read_parquet({q(item.judged)}) "
                f"WHERE rules <> '' OR hash(source_file, source_line) % {self.one_in} = 0) "
                "USING (source_file, source_line)"
            )
            relation = self.checked("SELECT * FROM gx_sample_cells")
        totals = expectation_totals(self.spec)
        batches = evaluated = 0
        for frame in _batches(con, table, relation, self.batch_rows):
            batches += 1
            evaluated += len(frame)
            result = self.validation.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
            by_key = {(r.expectation_config.type, r.expectation_config.kwargs["column"]): r for r in result.results}
            for total in totals:
                r = by_key[(total["expectation"], total["column"])].result
                total["element_count"] += r.get("element_count", 0) or 0
                total["unexpected_count"] += r.get("unexpected_count", 0) or 0
        sql_counts = dict(
            con.execute(
                "SELECT r, count(*) FROM (SELECT unnest(string_split(rules, ';')) AS r "
                f"FROM read_parquet({q(item.judged)}) WHERE rules <> '') GROUP BY r"
            ).fetchall()
        )
        added = []
        for total, expectation in zip(totals, self.spec["expectations"]):
            total["sql_rejected"] = sql_counts.get(total["rule"], 0)
            total["gx_only"] = total["sql_only"] = 0
            if total["sql_rejected"] != total["unexpected_count"]:
                rows = _resolve_disagreement(con, table, relation, self.batch_rows, expectation, total, item.judged)
                added.append((total["rule"], total["column"], rows))
        outcome = {"expectations": totals, "batches": batches, "evaluated": evaluated, "added": added}
        keep(item.outcome, item.judged, self.one_in, self.batch_rows, outcome)
        return outcome


def _resolve_disagreement(
    con, table: RawTable, relation: str, batch_rows: int, expectation: dict, total: dict, judged: Path
) -> list[tuple[str, int]]:
    """Finds the rows of one input only one engine rejects (``total``'s gx_only and sql_only); returns
    the rows GX rejects and the SQL does not, which join the quarantine."""
    validation = _validation(_context(), f"{table.name}_disagreement", [expectation])
    flagged: list[tuple[str, int]] = []
    for frame in _batches(con, table, relation, batch_rows):
        r = (
            validation.run(
                batch_parameters={"dataframe": frame},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": ROW_IDS},
            )
            .results[0]
            .result
        )
        flagged += [(row["source_file"], int(row["source_line"])) for row in r.get("unexpected_index_list") or []]
    _flag(con, flagged)
    has_rule = _has_rule(total["rule"])
    gx_only = con.execute(
        f"SELECT g.source_file, g.source_line FROM gx_flagged g LEFT JOIN rejected r USING (source_file, source_line) "
        f"WHERE NOT {has_rule} ORDER BY 1, 2"
    ).fetchall()
    total["gx_only"] = len(gx_only)
    total["sql_only"] = con.execute(
        f"SELECT count(*) FROM rejected r SEMI JOIN read_parquet({q(judged)}) USING (source_file, source_line) "
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
