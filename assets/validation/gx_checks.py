"""The Great Expectations check of each ingest asset (校验报告): GX's verdicts against the quarantine.

Ingest runs each table's suite with GX (assets/ingest/gx_runner.py) beside the SQL compiled from the
same suite, which judges every row. GX judges every row the SQL rejected and a deterministic sample
of the accepted ones (``DEFERRAL_GX_SAMPLE_ROWS``), or every row with ``deferral run
--full-validation``; the record and this check say which. Ingest records, per expectation, GX's unexpected count,
the SQL rules' count and the rows only one engine
rejected. This check reads that record. It passes when the two engines agree row for row. When they
disagree it fails as a *warning*: the rows in question were quarantined under the stricter verdict
and the run goes on, but the disagreement is a defect in the rules to fix. A missing record fails as
an error and blocks downstream assets. Data Docs (counts only) are under ``<data-dir>/data_docs/``.
"""

import json

import dagster as dg

from assets.contracts import RAW_TABLES, RawTable, ingest_key
from assets.resources import Warehouse


def _build_gx_check(table: RawTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ingest_key(table.name),
        name="gx_verdicts_match_quarantine",
        blocking=True,
        description=(
            f"Compares Great Expectations' verdicts with the quarantine: GX ran expectations/{table.name}.json "
            f"beside the "
            "SQL rules compiled from the same suite (which judge every row), over every rejected row and a "
            "deterministic "
            "sample of accepted rows, or every row with --full-validation (metadata gx_mode). Passed means both "
            "engines "
            "reject exactly the same rows, all of them in quarantine; it does not mean no row was rejected "
            "(rows_quarantined says how many were). A disagreement is a warning: those rows are quarantined under the "
            "stricter verdict and the run goes on. The table also lists the code rules GX does not express (check "
            "characters, calendar dates, known regions and units, duplicate keys), which only the SQL applies. "
            "比对 GX 校验结论与隔离区：两引擎拒绝的记录完全一致即通过（通过不表示没有不合格记录，"
            "见 rows_quarantined）；"
            "不一致时告警，相关行按更严格的结论隔离。表中同时列出 GX 无法表达、仅由 SQL 执行的代码规则。"
        ),
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        path = warehouse.validation_path(table.name)
        if not path.exists():
            return dg.AssetCheckResult(passed=False, metadata={"problem": f"no validation record at {path}"})
        record = json.loads(path.read_text(encoding="utf-8"))
        lines = [
            "| rule 规则 | kind | column | rejected by GX | rejected by SQL | quarantined | GX only | SQL only | agree "
            "|",
            "|---|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for e in record["expectations"]:
            lines.append(
                f"| {e['rule']} | GX expectation {e['expectation']} | {e['column']} | {e['unexpected_count']:,} | "
                f"{e['sql_rejected']:,} | {e['quarantined']:,} | {e['gx_only']:,} | {e['sql_only']:,} | "
                f"{'yes' if e['agree'] else 'NO'} |"
            )
        suite_rules = {e["rule"] for e in record["expectations"]}
        code_rules = {r: n for r, n in record["quarantine_by_rule"].items() if r not in suite_rules}
        for rule, n in sorted(code_rules.items()):
            lines.append(
                f"| {rule} | code rule (SQL only) | {rule.partition(':')[2]} | - | {n:,} | {n:,} | - | - | - |"
            )
        disagreeing = [e["rule"] for e in record["expectations"] if not e["agree"]]
        return dg.AssetCheckResult(
            passed=not disagreeing,
            severity=dg.AssetCheckSeverity.WARN if disagreeing else dg.AssetCheckSeverity.ERROR,
            metadata={
                "expectations": dg.MetadataValue.md("\n".join(lines)),
                "expectation_results": dg.MetadataValue.json(record["expectations"]),
                "code_rules": dg.MetadataValue.json(code_rules),
                "expectations_with_rejected_rows": sum(not e["success"] for e in record["expectations"]),
                "rows_quarantined": record["rows_quarantined"],  # rows, as the quarantine holds them
                "rule_hits": sum(record["quarantine_by_rule"].values()),  # a row breaking two rules: two hits
                "engines_disagree_on": dg.MetadataValue.json(disagreeing),
                "gx_validation_results": record["batches"],
                "gx_mode": record["coverage"]["mode"],
                "rows_checked_by_sql": record["coverage"]["rows_checked_by_sql"],
                "rows_evaluated_by_gx": record["coverage"]["rows_evaluated_by_gx"],
                "gx_sample_one_in": record["coverage"]["one_in"],
                # a table ingested by province has a Data Docs site per province, all linked from the index
                "data_docs": dg.MetadataValue.path(
                    str(warehouse.docs_dir() / ("" if table.by_province else table.name) / "index.html")
                ),
                "validation_report": dg.MetadataValue.url(warehouse.docs_link(f"validation_report.html#{table.name}")),
            },
        )

    return _check


gx_checks = [_build_gx_check(t) for t in RAW_TABLES.values()]
