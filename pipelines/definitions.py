"""The code location: every asset, check, job and resource, assembled in one place."""

import dagster as dg

from assets.ingest.assets import accounting_checks, ingest_assets
from assets.policy.assets import policy_assets
from assets.publication import published_assets
from assets.validation.gx_checks import gx_checks
from pipelines.jobs import deferral_job
from pipelines.resources import warehouse_resource

defs = dg.Definitions(
    assets=[*ingest_assets, *policy_assets, *published_assets],
    asset_checks=[*accounting_checks, *gx_checks],
    jobs=[deferral_job],
    resources={"warehouse": warehouse_resource()},
)


def deferral_job_def() -> dg.JobDefinition:
    """Module-level handle so ``execute_job`` can rebuild the job in any process."""
    return defs.resolve_job_def("deferral_job")
