"""Jobs. The executor is ``multi_or_in_process_executor``: ``deferral run`` picks in-process (each
multiprocess step costs about a second of start-up here); the UI's launchpad may choose
``multiprocess`` for parallel steps, which the Parquet-per-asset storage allows.

- ``ingest_job``: read and validate every raw table (unpartitioned).
- ``monthly_job``: everything after ingest; launched for a range of report months it computes
  each month as of its last day in one run, then publishes.
- ``deferral_job``: both, for a one-click run in the UI.
"""

import dagster as dg

INGEST = dg.AssetSelection.groups("ingest", "validation")

ingest_job = dg.define_asset_job(
    name="ingest_job", selection=INGEST, executor_def=dg.multi_or_in_process_executor,
    description="Ingest and validate every raw table. 入库与校验。")
monthly_job = dg.define_asset_job(
    name="monthly_job", selection=dg.AssetSelection.all() - INGEST, executor_def=dg.multi_or_in_process_executor,
    description="Policy, reconciliation, statistics and publication for report months. 缓缴计算、对账、统计与发布。")
deferral_job = dg.define_asset_job(
    name="deferral_job", selection=dg.AssetSelection.all(), executor_def=dg.multi_or_in_process_executor,
    description="Ingest and validate every raw table, then derive and publish. 全流程。")

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}


def range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


# workspace.yaml's location_name: runs started by `deferral run` carry the repository label the UI
# files runs under, so they appear on their job's page and the timeline like launched ones.
CODE_LOCATION = "deferral"


def code_location_tags() -> dict[str, str]:
    return {".dagster/repository": f"__repository__@{CODE_LOCATION}"}
