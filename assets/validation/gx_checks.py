"""The Great Expectations check of each ingest asset (校验报告): GX's verdicts against the quarantine.

Ingest runs each table's suite with GX (assets/ingest/gx_runner.py) beside the SQL compiled from the
same suite, which judges every row. GX judges every row the SQL rejected and a deterministic sample
of the accepted ones (``DEFERRAL_GX_SAMPLE_ROWS``), or every row with ``deferral run
--full-validation``; the record and this check say which. Ingest records, per expectation, GX's unexpected count, the SQL rules' count and the rows only one engine
rejected. This check reads that record. It passes when the two engines agree row for row. When they
disagree it fails as a *warning*: the rows in question were quarantined under the stricter verdict
and the run goes on, but the disagreement is a defect in the rules to fix. A missing record fails as
an error and blocks downstream assets. Data Docs (counts only) are under ``<data-dir>/data_docs/``.
"""

import json

import dagster as dg

from assets.contracts import RAW_TABLES, RawTable
from assets.contracts import ingest_key
from assets.ingest.assets import validation_results_path
from assets.resources import Warehouse


def _build_gx_check(table: RawTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ingest_key(table.name),
        name="great_expectations_suite",
        blocking=True,
        description=(
            f"Great Expectations ran expectations/{table.name}.json beside the SQL rules compiled from the same suite "
            "(which judge every row): over every rejected row and a deterministic sample of accepted rows, or every row "
            "with --full-validation (metadata: gx_mode). Passes when both engines reject the same rows. A disagreement "
            "is a warning (the rows "
            "are quarantined under the stricter verdict and the run goes on). "
            "GX 套件校验：SQL 规则逐行校验全部记录，GX 校验全部被拒记录与确定性抽样（或 --full-validation 全量）；"
            "两者结论一致为通过，不一致时告警，相关行按更严格的结论隔离。"
        ),
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        path = validation_results_path(warehouse, table.name)
        if not path.exists():
            return dg.AssetCheckResult(passed=False, metadata={"problem": f"no validation record at {path}"})
        record = json.loads(path.read_text(encoding="utf-8"))
        lines = ["| expectation | column | success | GX unexpected | SQL rejected | quarantined | GX only | SQL only |",
                 "|---|---|---|---|---|---|---|---|"]
        for e in record["expectations"]:
            lines.append(f"| {e['expectation']} | {e['column']} | {e['success']} | {e['unexpected_count']} | "
                         f"{e['sql_rejected']} | {e['quarantined']} | {e['gx_only']} | {e['sql_only']} |")
        disagreeing = [e["rule"] for e in record["expectations"] if not e["agree"]]
        return dg.AssetCheckResult(
            passed=not disagreeing,
            severity=dg.AssetCheckSeverity.WARN if disagreeing else dg.AssetCheckSeverity.ERROR,
            metadata={
                "expectations": dg.MetadataValue.md("\n".join(lines)),
                "expectation_results": dg.MetadataValue.json(record["expectations"]),
                "failed_expectations": sum(not e["success"] for e in record["expectations"]),
                "engines_disagree_on": dg.MetadataValue.json(disagreeing),
                "batches": record["batches"],
                "gx_mode": record["coverage"]["mode"],
                "rows_checked_by_sql": record["coverage"]["rows_checked_by_sql"],
                "rows_evaluated_by_gx": record["coverage"]["rows_evaluated_by_gx"],
                "gx_sample_one_in": record["coverage"]["one_in"],
                "data_docs": dg.MetadataValue.path(str(warehouse.docs_dir() / table.name / "index.html")),
            },
        )

    return _check


gx_checks = [_build_gx_check(t) for t in RAW_TABLES.values()]
