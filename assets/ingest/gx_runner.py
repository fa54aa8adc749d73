"""Great Expectations over what ingest read: each table's suite, row for row beside the SQL rules.

Ingest calls :func:`validate_rows` after the SQL rules have marked every staged row and before
anything is accepted. GX runs the suite over the cleaned cells in Arrow batches (results as counts
only, so Data Docs never hold a raw value): every row the SQL rejected and a deterministic sample of
the rest, or every row with --full-validation (:func:`sample_filter`). Where an expectation's count differs from the
SQL's, that
expectation runs again on the batches with row identifiers (source_file, source_line) to find the
rows the two engines judge differently. A row GX rejects and the SQL accepted is quarantined too, under
the expectation's rule and ``gx_only:<column>`` (the stricter verdict wins); a row only the SQL rejects
stays quarantined. The run goes on; the check ``gx_verdicts_match_quarantine`` reports the disagreement as a
warning (a defect in the rules to fix), while a lost row stays a blocking failure of ``rows_accounted_for``.
"""

import html
import json
import logging
import os
from pathlib import Path

import pyarrow as pa

from assets.contracts import RawTable, load_suite
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
    """The rows GX judges (``relation``: ``checked``, the view of every staged row's cleaned cells and
    the SQL's verdict, or ``gx_sampled``, the same of the sampled rows), as pandas frames of ``batch_rows``."""
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


def sample_filter(con, sample_rows: int | None) -> tuple[str, dict]:
    """Which rows GX judges, as a relation: ``checked`` (``sample_rows`` None: --full-validation, or a
    table no larger than the sample), or ``gx_sampled``: every row the SQL rejected plus a
    deterministic sample of about ``sample_rows`` accepted rows (one in k by a hash of the row's file
    and line, so a rerun judges the same rows), chosen from the verdicts alone (``gx_rows``), their raw cells read
    once (``gx_sample_cells``)."""
    total = con.execute("SELECT count(*) FROM verdicts").fetchall()[0][0]
    if sample_rows is None or total <= sample_rows:
        return "checked", {"mode": "full", "rows_checked_by_sql": total, "one_in": 1}
    one_in = -(-total // sample_rows)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE gx_rows AS SELECT source_file, source_line FROM verdicts "
        f"WHERE rules <> '' OR hash(source_file, source_line) % {one_in} = 0"
    )
    con.execute("INSERT INTO gx_sample_cells SELECT s.* FROM staged s JOIN gx_rows USING (source_file, source_line)")
    return "gx_sampled", {"mode": "sample", "rows_checked_by_sql": total, "one_in": one_in}


def validate_rows(
    con,
    table: RawTable,
    docs_root: Path,
    docs_dir: Path,
    batch_rows: int,
    sample_rows: int | None,
    build_docs: bool = True,
) -> dict:
    """Runs the suite over the rows :func:`sample_filter` picks; adds GX-only
    rejections to ``rejected`` (the SQL's rejected rows, which ``checked`` reads its verdict from).

    Returns per-expectation totals (GX's unexpected, the SQL's, and how many rows only one engine
    rejected), the number of batches, what GX judged (mode, rows) and the Data Docs page
    (``docs_dir``, linked from ``docs_root/index.html``; not built when ``build_docs`` is false)."""
    relation, coverage = sample_filter(con, sample_rows)
    spec = load_suite(table.name)
    context = _context(docs_dir)
    validation = _validation(context, table.name, spec["expectations"], spec["meta"])
    totals = [
        {
            "expectation": e["type"],
            "column": e["kwargs"]["column"],
            "rule": f"{e['meta']['rule']}:{e['kwargs']['column']}",
            "element_count": 0,
            "unexpected_count": 0,
        }
        for e in spec["expectations"]
    ]
    batches = evaluated = 0
    for frame in _batches(con, table, relation, batch_rows):
        batches += 1
        evaluated += len(frame)
        result = validation.run(batch_parameters={"dataframe": frame}, result_format=RESULT_FORMAT)
        by_key = {(r.expectation_config.type, r.expectation_config.kwargs["column"]): r for r in result.results}
        for total in totals:
            r = by_key[(total["expectation"], total["column"])].result
            total["element_count"] += r.get("element_count", 0) or 0
            total["unexpected_count"] += r.get("unexpected_count", 0) or 0
    sql_counts = dict(
        con.execute(
            "SELECT r, count(*) FROM (SELECT unnest(string_split(rules, ';')) AS r FROM rejected) GROUP BY r"
        ).fetchall()
    )
    for total, expectation in zip(totals, spec["expectations"]):
        total["sql_rejected"] = sql_counts.get(total["rule"], 0)
        total["gx_only"] = total["sql_only"] = 0
        if total["sql_rejected"] != total["unexpected_count"]:
            _resolve_disagreement(con, table, relation, batch_rows, expectation, total)
        total["success"] = total["unexpected_count"] == 0
        total["agree"] = total["gx_only"] == 0 and total["sql_only"] == 0
    if build_docs:
        context.build_data_docs(site_names=["deferral"])
        write_docs_index(docs_root)
    coverage["rows_evaluated_by_gx"] = evaluated
    return {"expectations": totals, "batches": batches, "coverage": coverage, "docs": docs_dir / "index.html"}


def _resolve_disagreement(con, table: RawTable, relation: str, batch_rows: int, expectation: dict, total: dict) -> None:
    """Finds the rows only one engine rejects; GX-only rows join the quarantine (the stricter verdict)."""
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
    con.execute("CREATE OR REPLACE TEMP TABLE gx_flagged (source_file VARCHAR, source_line BIGINT)")
    if flagged:
        con.executemany("INSERT INTO gx_flagged VALUES (?, ?)", flagged)
    rule, column = q(total["rule"]), q("gx_only:" + total["column"])
    has_rule = f"coalesce(list_contains(string_split(r.rules, ';'), {rule}), false)"
    total["gx_only"] = con.execute(
        f"SELECT count(*) FROM gx_flagged g LEFT JOIN rejected r USING (source_file, source_line) WHERE NOT {has_rule}"
    ).fetchall()[0][0]
    total["sql_only"] = con.execute(
        f"SELECT count(*) FROM rejected r ANTI JOIN gx_flagged USING (source_file, source_line) WHERE {has_rule}"
    ).fetchall()[0][0]
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE gx_added AS
        SELECT g.source_file, g.source_line, concat_ws(';', nullif(r.rules, ''), {rule}, {column}) AS rules,
        r.raw_values
        FROM gx_flagged g LEFT JOIN rejected r USING (source_file, source_line) WHERE NOT {has_rule}""")
    con.execute(
        "DELETE FROM rejected r USING gx_added g WHERE r.source_file = g.source_file AND r.source_line = g.source_line"
    )
    con.execute("INSERT INTO rejected BY NAME SELECT * FROM gx_added")


def write_docs_index(docs_root: Path) -> None:
    """The landing page linking every table's Data Docs, and each province's of a table ingested by
    province (``<table>/<province>/``), rewritten whole, atomically."""
    pages = sorted(
        p.parent.relative_to(docs_root).as_posix()
        for pattern in ("*/index.html", "*/*/index.html")
        for p in docs_root.glob(pattern)
    )
    items = "\n".join(f'<li><a href="{html.escape(t)}/index.html">{html.escape(t)}</a></li>' for t in pages)
    page = (
        "<!doctype html><meta charset='utf-8'><title>Deferral pipeline — validation</title>"
        "<h1>数据校验 Validation</h1><p><a href='validation_report.html'>Validation report 数据校验报告 "
        "(offline)</a></p><h2>Great Expectations Data Docs</h2>"
        f"<ul>\n{items}\n</ul>\n"
    )
    docs_root.mkdir(parents=True, exist_ok=True)
    tmp = docs_root / f".index.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(docs_root / "index.html")


def merge_outcomes(records: list[dict]) -> dict:
    """One outcome from the provinces' validation records of a table: counts summed per expectation
    (every province runs the same suite, in the same order); sampled if any province was."""
    first = records[0]
    expectations = []
    for i, e in enumerate(first["expectations"]):
        merged = dict(e)
        for key in ("element_count", "unexpected_count", "sql_rejected", "gx_only", "sql_only"):
            merged[key] = sum(r["expectations"][i][key] for r in records)
        merged["success"] = merged["unexpected_count"] == 0
        merged["agree"] = merged["gx_only"] == 0 and merged["sql_only"] == 0
        expectations.append(merged)
    coverage = {
        "mode": "sample" if any(r["coverage"]["mode"] == "sample" for r in records) else "full",
        "rows_checked_by_sql": sum(r["coverage"]["rows_checked_by_sql"] for r in records),
        "one_in": max(r["coverage"]["one_in"] for r in records),
        "rows_evaluated_by_gx": sum(r["coverage"]["rows_evaluated_by_gx"] for r in records),
    }
    return {"expectations": expectations, "batches": sum(r["batches"] for r in records), "coverage": coverage}


def write_results(path: Path, table: RawTable, outcome: dict, quarantined: dict, rows_quarantined: int) -> dict:
    """warehouse/validation/<table>.json: what the check and the validation report read.
    ``quarantined``: rule hits per rule (a row breaking two rules counts under each);
    ``rows_quarantined``: the quarantine's rows (exact duplicates aside)."""
    for e in outcome["expectations"]:
        e["quarantined"] = quarantined.get(e["rule"], 0)
    record = {
        "table": table.name,
        "title": table.title,
        "agree": all(e["agree"] for e in outcome["expectations"]),
        "batches": outcome["batches"],
        "coverage": outcome["coverage"],
        "expectations": outcome["expectations"],
        "quarantine_by_rule": quarantined,
        "rows_quarantined": rows_quarantined,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return record
