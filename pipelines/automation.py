"""Monthly operation: a schedule, a sensor for newly landed raw files, and the hand-off from a
successful ingest to the report months.

- ``monthly_ingest_schedule`` runs ``ingest_job`` at 06:00 Beijing time on the 5th of each month,
  after the bureaus' month-end exports.
- ``raw_files_sensor`` fingerprints every file under ``raw/`` (path, size, mtime) and starts
  ``ingest_job`` when the fingerprint changes.
- ``report_months_after_ingest`` follows every successful ``ingest_job`` with one ``monthly_job``
  run from the first report month whose inputs changed (a corrected input can change any month)
  through the latest contribution period, as ``deferral run`` does; ``month_inputs_after_run``
  records, when that run succeeds, the inputs it was planned from.
"""

import hashlib
import json

import dagster as dg

from assets.month_digests import MONTH_INPUTS_TAG, record_planned
from assets.months import prior
from assets.partitions import first_report_month, latest_contribution_period, register_report_months
from assets.resources import Warehouse
from pipelines.jobs import ingest_job, monthly_job, monthly_run_tags

monthly_ingest_schedule = dg.ScheduleDefinition(
    name="monthly_ingest_schedule",
    job=ingest_job,
    cron_schedule="0 6 5 * *",
    execution_timezone="Asia/Shanghai",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Ingest the month's exports on the 5th; report months follow the ingest. 每月5日入库。",
)


def raw_fingerprint(warehouse: Warehouse) -> str:
    raw = warehouse.root / "raw"
    entries = (
        sorted(
            (str(p.relative_to(raw)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in raw.rglob("*")
            if p.is_file() and p.suffix.lower() in (".csv", ".parquet")
        )
        if raw.exists()
        else []
    )
    return hashlib.sha256(json.dumps(entries).encode()).hexdigest()


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts an ingest when raw files land or change. 原始数据到达即入库。",
)
def raw_files_sensor(context: dg.SensorEvaluationContext, warehouse: Warehouse):
    fingerprint = raw_fingerprint(warehouse)
    if fingerprint == context.cursor:
        return dg.SkipReason("no new or changed raw files")
    context.update_cursor(fingerprint)
    return dg.RunRequest(
        run_key=fingerprint, tags={"deferral/trigger": "raw_files", "deferral/data_dir": str(warehouse.root)}
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_job],
    request_job=monthly_job,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a successful ingest, compute the report months whose inputs changed. 入库后重算有变化的月份。",
)
def report_months_after_ingest(context: dg.RunStatusSensorContext, warehouse: Warehouse):
    month = latest_contribution_period(warehouse.root)
    if month is None:
        return dg.SkipReason("the ingest accepted no contribution rows: no report month to compute")
    register_report_months(context.instance, month)  # normally done by the ingest; the request needs them
    first, tags = monthly_run_tags(context.instance, warehouse, month)
    if first is None:
        return dg.SkipReason(f"nothing changed since the publication as of {month}: nothing to compute")
    if first > first_report_month():
        context.log.info(f"report months {first_report_month()} to {prior(first)}: inputs unchanged, kept")
    return dg.RunRequest(run_key=context.dagster_run.run_id, tags={**tags, "deferral/data_dir": str(warehouse.root)})


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[monthly_job],
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="After a successful report-month run, record what its months were computed from, so the "
    "next run starts at the first month whose inputs changed. 记录各月计算所依据的输入。",
)
def month_inputs_after_run(context: dg.RunStatusSensorContext, warehouse: Warehouse):
    planned = context.dagster_run.tags.get(MONTH_INPUTS_TAG)
    if not planned or not record_planned(warehouse, planned):
        return dg.SkipReason("nothing to record: the run was not planned with its inputs, or they are recorded")
    return dg.SkipReason(f"recorded the inputs of run {context.dagster_run.run_id}")
