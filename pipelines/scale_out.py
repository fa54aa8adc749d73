"""``deferral run --executor celery``: the monthly work as Dagster runs that proceed side by side.

One run of ``shared_job`` (tables every province reads), then one ``province_job`` run per
province over its report months, launched together so the broker holds steps of every province
and each idle worker takes the next, then ``publish_job``. Dagster's Celery executor sends each
step to a worker; this module only launches the runs (the same runs the launchpad or a schedule
would), and it stops at the first stage that fails.

Each run is launched from its own process, as Dagster's run launcher does: ``execute_job`` is not
safe to call from several threads of one process (each run reconfigures Python's logging while the
others log through it, and the threads deadlock on logging's locks).
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial

import dagster as dg

from assets.partitions import provinces
from pipelines.jobs import range_tags


@dataclass(frozen=True)
class Outcome:
    success: bool
    run_id: str


def _execute(job_fn, run_config: dict, tags: dict) -> Outcome:
    # runs in a fresh (spawned) process: its own instance handle, logging and broker connections
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(dg.reconstructable(job_fn), instance=instance, run_config=run_config, tags=tags)
        return Outcome(result.success, result.run_id)


def run_provinces_side_by_side(
    instance: dg.DagsterInstance, run_config: dict, tags: dict, first_month: str, month: str, run_ids: list[str]
) -> Outcome:
    """Runs the monthly stages for ``first_month``..``month``; appends each run's id to ``run_ids``."""
    from pipelines.definitions import province_job_def, publish_job_def, shared_job_def

    shared = _execute(shared_job_def, run_config, tags)
    run_ids.append(shared.run_id)
    if not shared.success:
        return shared
    ids = instance.get_dynamic_partitions(provinces.name)
    province_tags = [{**tags, **range_tags(first_month, month, [p]), "deferral/province": p} for p in ids]
    with ProcessPoolExecutor(max_workers=max(1, len(ids)), mp_context=multiprocessing.get_context("spawn")) as pool:
        outcomes = list(pool.map(partial(_execute, province_job_def, run_config), province_tags))
    run_ids += [o.run_id for o in outcomes]
    failed = [o for o in outcomes if not o.success]
    if failed:
        return failed[0]
    publish = _execute(
        publish_job_def, {**run_config, "ops": {"publication": {"config": {"report_month": month}}}}, tags
    )
    run_ids.append(publish.run_id)
    return publish
