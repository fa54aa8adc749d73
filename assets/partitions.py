"""Report months as Dagster partitions (YYYY-MM): from the earliest first period of any profile
through the last month with data, never beyond (so the UI shows no month as missing that no data
can fill).

The partitions are dynamic: ingesting the contributions registers every month from the first
period through the latest accepted contribution period (:func:`register_report_months`), the
months the data can report on (``deferral run --as-of`` refuses others). Each partition holds the
state as of that month's last day.

The second dimension is the province (policy profile): persons are distinct within a province and
every SPEC table and statistic is per unit, region or province, so a province's month reads only
its own rows and its partitions can run on separate workers. Pooling region is not a
dimension: the province rows of monthly_statistics count persons distinct across regions, and
fanning out per region would multiply Dagster's bookkeeping (months x 29 regions) without
shortening the critical path.
"""

from pathlib import Path

import dagster as dg
import duckdb

from assets.contracts import clean_glob
from assets.months import months_between
from assets.settings import profiles_in_use
from assets.storage import matching

report_months = dg.DynamicPartitionsDefinition(name="report_months")
# The second dimension: the policy profile, one per province. A province's month reads
# only that province's rows, so its partitions are independent and can run on different workers.
provinces = dg.DynamicPartitionsDefinition(name="provinces")
province_months = dg.MultiPartitionsDefinition({"province": provinces, "report_month": report_months})


def province_month_key(province: str, month: str) -> str:
    """The partition key string of ``province`` x ``month`` (dimensions in name order: province first)."""
    return f"{province}|{month}"


def split_key(key) -> tuple[str, str]:
    """(province, report month) of a partition key of :data:`province_months`."""
    dims = (
        key.keys_by_dimension
        if isinstance(key, dg.MultiPartitionKey)
        else dict(zip(("province", "report_month"), str(key).split("|")))
    )
    return dims["province"], dims["report_month"]


def profile_ids() -> list[str]:
    """The policy profiles (provinces) of the profile files in use, sorted."""
    return sorted(p.policy_id for p in profiles_in_use())


def register_provinces(instance: dg.DagsterInstance, ids: list[str] | None = None) -> list[str]:
    """Adds the provinces (policy profiles) the instance does not have yet; returns them."""
    known = set(instance.get_dynamic_partitions(provinces.name))
    new = [p for p in (ids if ids is not None else profile_ids()) if p not in known]
    if new:
        instance.add_dynamic_partitions(provinces.name, new)
    return new


def first_report_month() -> str:
    return min(p.first_period for p in profiles_in_use())


def months_through(last: str) -> list[str]:
    """Every report month from the first period through ``last`` (YYYY-MM), in order."""
    return months_between(first_report_month(), last)


def latest_contribution_period(data_dir: Path) -> str | None:
    """The latest period among accepted contributions; None when there are none (yet)."""
    accepted = clean_glob(data_dir, "contributions")
    if not matching(accepted):
        return None
    with duckdb.connect() as con:
        # the files' own statistics (a YYYY-MM text's are exact): no row read; every row where a row group
        # of values has none
        exact, latest = con.execute(
            "SELECT bool_and(coalesce(stats_max_value IS NOT NULL AND coalesce(max_is_exact, false) "
            "OR stats_null_count = num_values, false)), max(stats_max_value) FROM parquet_metadata(?) "
            "WHERE path_in_schema = 'period'",
            [str(accepted)],
        ).fetchall()[0]
        if exact is False:
            latest = con.execute("SELECT max(period) FROM read_parquet(?)", [str(accepted)]).fetchall()[0][0]
        return latest


def register_report_months(instance: dg.DagsterInstance, last: str | None) -> list[str]:
    """Adds the report months through ``last`` that the instance does not have yet (and the
    provinces of the profiles in use); returns the new months."""
    if last is None:
        return []
    register_provinces(instance)
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
    key = tags.get("dagster/partition") or tags.get("dagster/asset_partition_range_end")
    return split_key(key)[1] if key else None
