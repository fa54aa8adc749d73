"""Report months as Dagster partitions (YYYY-MM): from the earliest first period of any profile
through the last month with data, never beyond (so the UI shows no month as missing that no data
can fill).

The partitions are dynamic: ingesting the contributions registers every month from the first
period through the latest accepted contribution period (:func:`register_report_months`), the
months the data can report on (``deferral run --as-of`` refuses others). Each partition holds the
state as of that month's last day. Pooling region is not a second dimension: the province rows of
monthly_statistics count persons distinct across regions, and a month of one province runs in
seconds to minutes; fanning out per region would multiply Dagster's bookkeeping (months x 29
regions) without shortening the critical path.
"""

import os
from pathlib import Path

import dagster as dg
import duckdb

from assets.profiles import load_profiles

report_months = dg.DynamicPartitionsDefinition(name="report_months")


def first_report_month() -> str:
    return min(p.first_period for p in load_profiles(os.environ.get("DEFERRAL_PROFILES_DIR") or None))


def months_through(last: str) -> list[str]:
    """Every report month from the first period through ``last`` (YYYY-MM), in order."""
    months, month = [], first_report_month()
    while month <= last:
        months.append(month)
        y, m = int(month[:4]), int(month[5:7])
        month = f"{y + m // 12}-{m % 12 + 1:02d}"
    return months


def latest_contribution_period(data_dir: Path) -> str | None:
    """The latest period among accepted contributions; None when there are none (yet)."""
    path = data_dir / "warehouse" / "clean" / "contributions.parquet"
    if not path.exists():
        return None
    with duckdb.connect() as con:
        return con.execute("SELECT max(period) FROM read_parquet(?)", [str(path)]).fetchall()[0][0]


def register_report_months(instance: dg.DagsterInstance, last: str | None) -> list[str]:
    """Adds the report months through ``last`` that the instance does not have yet; returns them."""
    if last is None:
        return []
    known = set(instance.get_dynamic_partitions(report_months.name))
    new = [m for m in months_through(last) if m not in known]
    if new:
        instance.add_dynamic_partitions(report_months.name, new)
    return new


def run_report_month(context: dg.AssetExecutionContext) -> str | None:
    """The report month a run was launched for, for an asset without partitions of its own (the
    publication): the run's partition, or the last month of its partition range; None when the
    run has neither (an unpartitioned asset materialized alone)."""
    tags = context.run.tags
    return tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
