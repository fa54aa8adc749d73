"""The code location: every asset, check, job and resource, assembled in one place.

``build_defs()`` binds the settings to the environment (``dg.EnvVar``) each time it is called, so
a job rebuilt in a run's process (``reconstructable``) sees the environment of that process.
"""

import dagster as dg

from assets.ingest.assets import ingest_assets, raw_specs
from assets.ingest.checks import accounting_checks
from assets.policy.assets import policy_assets
from assets.policy.checks import policy_checks
from assets.publication.assets import published_assets
from assets.reconciliation.assets import reconciliation_assets, reconciliation_checks
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment
from assets.validation.gx_checks import gx_checks
from assets.validation.report import validation_report
from pipelines.automation import (
    month_inputs_after_run,
    monthly_ingest_schedule,
    raw_files_sensor,
    report_months_after_ingest,
)
from pipelines.console import console
from pipelines.jobs import JOBS


def build_defs() -> dg.Definitions:
    settings = settings_from_environment()
    return dg.Definitions(
        assets=[
            *raw_specs,
            *ingest_assets,
            *policy_assets,
            *reconciliation_assets,
            *published_assets,
            validation_report,
        ],
        asset_checks=[*accounting_checks, *gx_checks, *policy_checks, *reconciliation_checks],
        jobs=JOBS,
        schedules=[monthly_ingest_schedule],
        sensors=[raw_files_sensor, report_months_after_ingest, month_inputs_after_run],
        resources={"settings": settings, "warehouse": warehouse_resource(settings=settings)},
        loggers={"console": console},
    )


defs = build_defs()


def ingest_job_def() -> dg.JobDefinition:
    """Module-level handles so ``execute_job`` can rebuild a job in any process."""
    return build_defs().resolve_job_def("ingest_job")


def monthly_job_def() -> dg.JobDefinition:
    return build_defs().resolve_job_def("monthly_job")


def shared_job_def() -> dg.JobDefinition:
    return build_defs().resolve_job_def("shared_job")


def province_job_def() -> dg.JobDefinition:
    return build_defs().resolve_job_def("province_job")


def publish_job_def() -> dg.JobDefinition:
    return build_defs().resolve_job_def("publish_job")
