"""Report months as Dagster partitions (YYYY-MM), from the earliest first period of any profile.

Each partition holds the state as of that month's last day. Pooling region is not a second
dimension: the province rows of monthly_statistics count persons distinct across regions, and a
month of one province runs in seconds to minutes; fanning out per region would multiply
Dagster's bookkeeping (months x 29 regions) without shortening the critical path.
"""

import os

import dagster as dg

from assets.profiles import load_profiles


def first_report_month() -> str:
    return min(p.first_period for p in load_profiles(os.environ.get("DEFERRAL_PROFILES_DIR") or None))


report_months = dg.MonthlyPartitionsDefinition(start_date=first_report_month(), fmt="%Y-%m", end_offset=1)


def run_report_month(context: dg.AssetExecutionContext) -> str | None:
    """The report month a run was launched for, for an asset without partitions of its own (the
    publication): the run's partition, or the last month of its partition range; None when the
    run has neither (an unpartitioned asset materialized alone)."""
    tags = context.run.tags
    return tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
