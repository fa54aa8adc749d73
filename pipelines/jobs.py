"""Jobs. Every job takes :func:`pipelines.executors.deferral_executor`: ``deferral run`` picks
in-process (each multiprocess step costs about a second of start-up here) unless told otherwise;
the UI's launchpad may choose ``multiprocess`` or ``celery``.

- ``ingest_job``: read and validate every raw table (unpartitioned).
- ``monthly_job``: everything after ingest; launched for a range of report months (and every
  province) it computes each province's month as of its last day in one run, then publishes.
- ``deferral_job``: both, for a one-click run in the UI.

Scale-out (``deferral run --executor celery``) splits ``monthly_job`` so provinces run
side by side: ``shared_job`` (the tables every province reads: profiles' regions, per-unit
summaries), one ``province_job`` run per province over its months, then ``publish_job`` (the
publication, and the checks of the province-partitioned assets, which read every province).
"""

import dagster as dg

from assets.contracts import RAW_TABLES
from assets.ingest.assets import raw_key
from assets.month_digests import MONTH_INPUTS_TAG, first_changed_month, inputs_name, plan_inputs
from assets.partitions import months_through, province_month_key, provinces
from assets.policy.assets import policy_assets
from assets.publication.assets import REPORT_KEY, published_from
from assets.reconciliation.assets import reconciliation_assets
from pipelines.executors import deferral_executor

# the raw sources too: observed at the start of an ingest run, so each ingest records the version it read
RAW = dg.AssetSelection.assets(*(raw_key(t) for t in RAW_TABLES))
INGEST = dg.AssetSelection.groups("ingest", "validation") | RAW
PUBLISH = dg.AssetSelection.groups("publication")
PARTITIONED_ASSETS = [a for a in [*policy_assets, *reconciliation_assets] if a.partitions_def]
PARTITIONED = dg.AssetSelection.assets(*PARTITIONED_ASSETS)
# what a report-month run computes before it publishes
MONTHLY_KEYS = [key for a in [*policy_assets, *reconciliation_assets] for key in a.keys]

ingest_job = dg.define_asset_job(
    name="ingest_job",
    selection=INGEST,
    executor_def=deferral_executor,
    description="Ingest and validate every raw table. 入库与校验。",
)
monthly_job = dg.define_asset_job(
    name="monthly_job",
    selection=dg.AssetSelection.all() - INGEST,
    executor_def=deferral_executor,
    description="Policy, reconciliation, statistics and publication for report months. 缓缴计算、对账、统计与发布。",
)
deferral_job = dg.define_asset_job(
    name="deferral_job",
    selection=dg.AssetSelection.all(),
    executor_def=deferral_executor,
    description="Ingest and validate every raw table, then derive and publish. 全流程。",
)
shared_job = dg.define_asset_job(
    name="shared_job",
    selection=dg.AssetSelection.all() - INGEST - PUBLISH - PARTITIONED,
    executor_def=deferral_executor,
    description="Tables every province reads (regions, per-unit summaries). 各省共用的基础表。",
)
province_job = dg.define_asset_job(
    name="province_job",
    selection=PARTITIONED.without_checks(),
    executor_def=deferral_executor,
    description="One province's report months: policy, reconciliation, statistics, collection. 单省各月计算。",
)
publish_job = dg.define_asset_job(
    name="publish_job",
    selection=PUBLISH | dg.AssetSelection.checks_for_assets(*PARTITIONED_ASSETS),
    executor_def=deferral_executor,
    description="Checks across provinces, then the publication of every province. 跨省校验与发布。",
)
JOBS = [ingest_job, monthly_job, deferral_job, shared_job, province_job, publish_job]

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


def range_tags(first: str, last: str, provinces: list[str]) -> dict[str, str]:
    """A single-run backfill of report months ``first``..``last`` for ``provinces`` (a contiguous
    run of the instance's province partitions: all of them, or one)."""
    return {
        "dagster/asset_partition_range_start": province_month_key(provinces[0], first),
        "dagster/asset_partition_range_end": province_month_key(provinces[-1], last),
    }


# workspace.yaml's location_name: runs started by `deferral run` carry the repository label the UI
# files runs under, so they appear on their job's page and the timeline like launched ones.
CODE_LOCATION = "deferral"


def code_location_tags() -> dict[str, str]:
    return {".dagster/repository": f"__repository__@{CODE_LOCATION}"}


def _materialized_since_publication(instance: dg.DagsterInstance) -> bool:
    """Whether a report-month asset was materialized after the current publication (a run launched
    from the UI for one partition, say): the publication may no longer be what a run would make."""
    published = instance.fetch_materializations(REPORT_KEY, limit=1).records
    if not published:
        return True
    return any(
        record.storage_id > published[0].storage_id
        for key in MONTHLY_KEYS
        for record in instance.fetch_materializations(key, limit=1).records
    )


def monthly_run_tags(instance: dg.DagsterInstance, warehouse, month: str) -> tuple[str | None, dict[str, str]]:
    """The first report month a run through ``month`` must run and the run's tags (its partition range
    from that month, and the inputs it is planned from, recorded when it succeeds:
    assets/month_digests.py ``record_planned``); ``(None, {})`` when there is nothing to run.

    The first month to run is the first whose inputs changed since the last successful run, or that
    this Dagster instance never recorded (a new DAGSTER_HOME on an existing data dir), else ``month``
    itself; earlier months keep their partitions' materializations (docs/architecture.md). Nothing is
    to run when no month changed, the instance recorded every month, the current publication is as of
    ``month`` and was made from these very inputs, and nothing it is made from was materialized after
    it: it is what a run would publish again."""
    changed, inputs_now = first_changed_month(warehouse, months_through(month))
    recorded = instance.get_materialized_partitions(dg.AssetKey("monthly_statistics"))
    ids = instance.get_dynamic_partitions(provinces.name)
    unseen = [m for m in months_through(month) if any(province_month_key(p, m) not in recorded for p in ids)]
    if (
        changed is None
        and not unseen
        and published_from(warehouse.root, month) == inputs_name(inputs_now)
        and not _materialized_since_publication(instance)
    ):
        return None, {}
    first = min(changed or month, *unseen, month)
    return first, {
        **range_tags(first, month, ids),
        "deferral/as_of": month,
        MONTH_INPUTS_TAG: plan_inputs(warehouse, inputs_now),
    }


def asset_steps(job: dg.JobDefinition) -> list[str]:
    """The nodes of ``job`` that materialize assets (not their checks, not the raw sources'
    observations): the steps the console reports, its ``k/N``."""
    from dagster._core.definitions.dependency import NodeHandle  # not exported; how the asset layer is keyed

    names = []
    for name in job.graph.node_dict:
        assets_def = job.asset_layer.get_assets_def_for_node(NodeHandle(name, None))
        if assets_def is not None and assets_def.keys and assets_def.is_materializable:
            names.append(name)
    return sorted(names)


def with_console_steps(run_config: dict, job: dg.JobDefinition) -> dict:
    """``run_config`` with the console logger told ``job``'s asset steps (its k/N)."""
    console = run_config["loggers"]["console"]["config"]
    return {**run_config, "loggers": {"console": {"config": {**console, "steps": asset_steps(job)}}}}


def hold_connections(instance: dg.DagsterInstance) -> None:
    """An instance on PostgreSQL (deploy/dagster.yaml) opens and authenticates a connection for every
    event it stores outside the webserver (dagster-postgres' storages use SQLAlchemy's NullPool), which
    doubled a run's time; the process running the run keeps one open per storage instead, as Dagster's
    own webserver does (no statement timeout: a run may write for long). SQLite storages ignore it."""
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=5)


def mark_killed_runs(instance: dg.DagsterInstance, data_dir) -> list[dg.DagsterRun]:
    """Runs of this data dir still STARTED while the caller holds its lock died with their process:
    marked failed, and returned."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags={"deferral/data_dir": str(data_dir)},
        )
    )
    for stale in runs:
        instance.report_run_failed(
            stale,
            "its process ended without finishing the run (killed?); marked failed by the "
            "next `deferral run` on this data dir",
        )
    return list(runs)
