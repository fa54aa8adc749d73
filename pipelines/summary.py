"""The summary printed at the end of ``deferral run``, read back from the runs' Dagster events
and the published tables."""

import re
from pathlib import Path

import dagster as dg
import duckdb

from assets.storage import q

# Dagster's switch for one "materialization planned" event per asset of a run over a range of partitions
# (dagster-io/dagster#29288): `deferral run` sets it; the UI command below carries it
PLANNED_SUBSET = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


def first_meaningful_line(message: str) -> str:
    """The first line of an error that says something (DuckDB ends its messages with a caret line)."""
    for line in message.splitlines():
        line = line.strip()
        if line and set(line) - set("^~ -"):
            return re.sub(r"^dagster\._core\.definitions\.events\.Failure: ", "", line)
    return message.strip()


def _figures(data_dir: Path) -> list[str]:
    published = data_dir / "published"
    if not all(
        (published / t).exists() for t in ("deferral_ledger", "repayment_schedule", "reconciliation_discrepancies")
    ):
        return []
    with duckdb.connect() as con:
        return _figure_lines(con, published)


def _figure_lines(con, published: Path) -> list[str]:
    read = lambda t: f"read_parquet({q(published / t / '**' / '*.parquet')}, hive_partitioning = true)"  # noqa: E731
    units, deferred = con.execute(
        f"SELECT count(DISTINCT unit_id) FILTER (WHERE deferred_amount > 0), coalesce(sum(deferred_amount), 0) FROM "
        f"{read('deferral_ledger')}"
    ).fetchall()[0]
    repaid, outstanding, overdue, fees = con.execute(
        f"SELECT coalesce(sum(repaid_amount), 0), coalesce(sum(outstanding_amount), 0), "
        f"coalesce(sum(outstanding_amount) FILTER (WHERE status = 'overdue'), 0), coalesce(sum(late_fee), 0) "
        f"FROM {read('repayment_schedule')}"
    ).fetchall()[0]
    kinds = con.execute(
        f"SELECT kind, count(*) FROM {read('reconciliation_discrepancies')} GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return [
        f"units deferring {units:,}; deferred {deferred:,.2f}; repaid {repaid:,.2f}; outstanding {outstanding:,.2f} "
        f"(overdue {overdue:,.2f}, late fees {fees:,.2f})",
        "discrepancies: " + (", ".join(f"{k} {n:,}" for k, n in kinds) or "none"),
    ]


def print_summary(instance: dg.DagsterInstance, run_ids: list[str], data_dir: Path, home: Path, seconds: float) -> None:
    """The last lines of ``deferral run``: the runs, each table's rows, the checks, the figures, where
    to read them, the total time. Nothing is printed after it."""
    print()
    runs = [instance.get_run_by_id(run_id) for run_id in run_ids]
    print("runs: " + ", ".join(f"{r.job_name} {r.status.value} ({r.run_id[:8]})" for r in runs if r))
    for run_id in run_ids:
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
            event = record.event_log_entry.dagster_event
            error = event.event_specific_data.error
            cause = error.cause or error
            print(f"  FAILED step {event.step_key}: {first_meaningful_line(cause.message)}")
    print(f"{'table':24} {'read':>12} {'accepted':>12} {'quarantined':>12} {'duplicates':>11}")
    evaluations, notes, kinds = [], [], set()
    for run_id in run_ids:
        for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records:
            mat = record.event_log_entry.asset_materialization
            md = mat.metadata
            if "pii_key" in md:
                kinds.add(md["pii_key"].value)
            if "rows_read" in md:
                print(
                    f"{mat.asset_key.path[-1]:24} {md['rows_read'].value:>12,} {md['accepted'].value:>12,} "
                    f"{md['quarantined'].value:>12,} {md['exact_duplicates'].value:>11,}"
                )
                if "missing_folder" in md and md["missing_folder"].value:
                    notes.append(f"  raw/{mat.asset_key.path[-1]}/ is missing: read as an empty table")
                if "ignored_files" in md and md["ignored_files"].value:
                    notes.append(f"  ignored (only .csv and .parquet are read): {', '.join(md['ignored_files'].value)}")
        evaluations += [
            r.event_log_entry.dagster_event.event_specific_data
            for r in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
        ]
    for note in notes:
        print(note)
    failed = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR]
    warned = [e for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.WARN]
    print(f"checks: {len(evaluations) - len(failed) - len(warned)} passed, {len(failed)} failed, {len(warned)} warned")
    for e in failed + warned:
        print(f"  {'FAILED' if e in failed else 'WARNING'} {e.asset_key.to_user_string()} {e.check_name}")
    if "development" in kinds:
        print("person_key: DEVELOPMENT key (DEFERRAL_PII_KEY not set) - not for production")
    elif kinds:
        print("person_key: configured key (DEFERRAL_PII_KEY)")
    for line in _figures(data_dir):
        print(line)
    print(f"published: {data_dir / 'published'} (bureau workbooks under report/<province>/<month>/)")
    report = data_dir / "data_docs" / "validation_report.html"
    print(f"validation report: {report}   quarantine: {data_dir / 'quarantine'}")
    print(f"Dagster UI: DAGSTER_HOME={home} {PLANNED_SUBSET}=1 dagster dev -w workspace.yaml")
    minutes, rest = divmod(round(seconds), 60)
    print(f"done in {minutes}:{rest:02d}")
