"""The summary printed at the end of ``deferral run``, read back from the run's Dagster events."""

from pathlib import Path

import dagster as dg


def print_summary(instance: dg.DagsterInstance, run_id: str, data_dir: Path) -> None:
    run = instance.get_run_by_id(run_id)
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    checks = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    print(f"\nrun {run_id} {run.status.value if run else ''}")
    print(f"{'table':24} {'read':>12} {'accepted':>12} {'quarantined':>12} {'duplicates':>11}")
    for record in records:
        mat = record.event_log_entry.asset_materialization
        md = mat.metadata
        if "rows_read" in md:
            print(
                f"{mat.asset_key.path[-1]:24} {md['rows_read'].value:>12,} {md['accepted'].value:>12,} "
                f"{md['quarantined'].value:>12,} {md['exact_duplicates'].value:>11,}"
            )
    failed = [
        c.event_log_entry.dagster_event.event_specific_data
        for c in checks
        if not c.event_log_entry.dagster_event.event_specific_data.passed
    ]
    print(f"checks: {len(checks) - len(failed)} passed, {len(failed)} failed")
    for check in failed:
        print(f"  FAILED {check.asset_key.to_user_string()} {check.check_name}")
    print(f"quarantine: {data_dir / 'quarantine'}   data docs: {data_dir / 'data_docs' / 'index.html'}")
