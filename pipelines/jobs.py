"""Jobs: the whole pipeline as one asset job (checks included).

The executor is ``multi_or_in_process_executor``: ``deferral run`` picks in-process (each
multiprocess step costs about a second of start-up here); the UI's launchpad may choose
``multiprocess`` for parallel steps, which the Parquet-per-asset storage allows.
"""

import dagster as dg

deferral_job = dg.define_asset_job(
    name="deferral_job",
    selection=dg.AssetSelection.all(),
    description="Ingest and validate every raw table, then derive and publish. 全流程：入库校验、缓缴计算、发布。",
    executor_def=dg.multi_or_in_process_executor,
)

IN_PROCESS = {"execution": {"config": {"in_process": {}}}}
MULTIPROCESS = {"execution": {"config": {"multiprocess": {"max_concurrent": 2}}}}
