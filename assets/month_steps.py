"""The report-month assets' steps: a ``.sql`` file per asset (assets/monthly_sql.py) run for each
province and report month of the run, skipping a month whose inputs are unchanged since it was
written (assets/month_digests.py), and telling the Dagster UI each partition's own figures.

One step covers many partitions (a single-run backfill), and Dagster records one materialization
per partition from it. Each partition's metadata (row count, rows by kind, path, preview, whether
it was computed again and from what) is given with ``add_asset_metadata(partition_key=…)``, so the
UI shows every partition its own truth; the step-wide metadata holds only run-level facts.
逐月逐省计算：输入未变的月份不重算；界面上每个分区显示其自身的数字。
"""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg

from assets import month_digests as digests
from assets.contracts import RAW_TABLES
from assets.monthly_sql import (
    SUMMARY_INPUTS,
    SqlAssetSpec,
    StaticInputs,
    counts_by,
    declared,
    deps_of,
    prepare,
    preview,
    run_month,
)
from assets.partitions import province_month_key, province_months, split_key
from assets.resources import Warehouse
from assets.versions import digest_of, setup_digest


def monthly_sql_assets(
    group: str, sql_dir: Path, static: StaticInputs | None = None, upstream: dict[str, str] | None = None
) -> list[dg.AssetsDefinition]:
    """The assets declared in ``<sql_dir>/monthly_assets.yaml``, in file order. ``static``: inputs that
    are policy data; ``upstream``: earlier stages' extra outputs (:func:`assets.monthly_sql.side_outputs`)."""
    return [
        monthly_sql_asset(name, spec, group, sql_dir, static or {}, upstream or {})
        for name, spec in declared(sql_dir / "monthly_assets.yaml").items()
    ]


def clean_sources(inputs: list[str]) -> list[str]:
    """The clean tables a month reads, directly or through the tables that serve every month."""
    found = [i for i in inputs if i in RAW_TABLES] + [t for i in inputs for t in SUMMARY_INPUTS.get(i, [])]
    return list(dict.fromkeys(found))


def monthly_sql_asset(
    name: str, spec: SqlAssetSpec, group: str, sql_dir: Path, static: StaticInputs, upstream: dict[str, str]
) -> dg.AssetsDefinition:
    """A report-month-partitioned asset computed by ``<sql_dir>/<name>.sql`` from ``spec.inputs``."""
    inputs, count_by, extra_outputs = spec.inputs, spec.count_by, spec.extra_outputs
    sources = clean_sources(inputs)
    # inputs written per report month by earlier assets (policy_regions counts through the profiles' digest)
    earlier = [i for i in inputs if i not in RAW_TABLES and i not in static and i not in SUMMARY_INPUTS]

    @dg.asset(
        name=name,
        group_name=group,
        kinds={"duckdb", "parquet"},
        deps=deps_of(inputs, static, upstream),
        description=spec.description,
        owners=["team:data-engineering"],
        partitions_def=province_months,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        keys = sorted(split_key(k) for k in context.partition_keys)
        months = sorted({m for _, m in keys})
        provinces = sorted({p for p, _ in keys})
        fixed = [setup_digest(warehouse.profiles(), warehouse.pii_key), name]

        def province_months(province: str) -> list[tuple[str, dict, int | None, str]]:
            """The province's months of the step, each (key, what the UI shows, rows written or None when
            kept, timing), on a DuckDB of its own (``share``: the provinces run side by side)."""
            done = []
            with warehouse.connect(share=len(provinces)) as con:
                own = [m for p, m in keys if p == province]
                known = digests.clean_digests(con, warehouse, sources, province, months)
                prepared = False
                for month in own:
                    parts = [*fixed, *(f"{t}={known[t][month]}" for t in sources)]
                    parts += [
                        f"{i}={digests.recorded(warehouse, upstream.get(i, i), month, province).get('digest')}"
                        for i in earlier
                    ]
                    digest = digest_of(parts)
                    path = warehouse.policy_path(name, month, province)
                    outputs = [path, *(warehouse.policy_path(t, month, province) for t in extra_outputs.values())]
                    entry = digests.recorded(warehouse, name, month, province)
                    key = province_month_key(province, month)
                    rows, timing = None, ""
                    if warehouse.recompute_all or entry.get("digest") != digest or not all(p.exists() for p in outputs):
                        if not prepared:
                            prepare(con, warehouse, inputs, province, static)
                            prepared = True
                        # the old record goes first: a step that dies midway leaves the month to compute again
                        digests.record_path(warehouse, name, month, province).unlink(missing_ok=True)
                        started = time.monotonic()
                        rows = run_month(con, warehouse, name, month, province, inputs, sql_dir, extra_outputs)
                        timing = f"{province} {month} {rows:,} rows {time.monotonic() - started:.2f} s"
                        entry = {"digest": digest, **_shown(con, path, rows, count_by)}
                        digests.record(warehouse, name, month, province, entry)
                    done.append((key, _metadata(entry, path, rows is not None, count_by), rows, timing))
            return done

        # Provinces are independent: side by side, each on its own DuckDB with its share of the memory
        # ceiling and threads (a report month's queries are small at city size and leave a core idle);
        # Dagster's context is told in this thread, in partition order.
        if len(provinces) > 1:
            with ThreadPoolExecutor(len(provinces), thread_name_prefix=name) as pool:
                results = [r for done in pool.map(province_months, provinces) for r in done]
        else:
            results = [r for p in provinces for r in province_months(p)]
        computed = [key for key, _, rows, _ in results if rows is not None]
        reused = [key for key, _, rows, _ in results if rows is None]
        rows_written = sum(rows for _, _, rows, _ in results if rows is not None)
        timings = [timing for *_, timing in results if timing]
        for key, metadata, _, _ in results:
            _partition_metadata(context, key, metadata)
        if timings:  # one event for the step, not one a partition (each is a write to the event log)
            context.log.debug(f"{name} as of each month: " + "; ".join(timings))
        context.log.info(
            f"{name}: {len(keys)} province months, {len(computed)} computed ({rows_written:,} rows), "
            f"{len(reused)} unchanged since written (kept)"
        )
        return dg.MaterializeResult(
            metadata={
                "partitions_computed": dg.MetadataValue.json(computed),
                "partitions_unchanged": len(reused),
                "through_month": months[-1],
            }
        )

    return _asset


def _partition_metadata(context: dg.AssetExecutionContext, key: str, metadata: dict) -> None:
    """``context.add_asset_metadata(metadata, partition_key=key)`` for a partition of this step. The
    public call checks the key against every key of the step's range, listing the dynamic partitions
    from the instance each time (a fifth of an unchanged run's time for 26 partitions of 13 assets);
    ``key`` comes from ``context.partition_keys``, so the step context's accumulator takes it directly
    (Dagster 1.13 internals, pinned; docs/architecture.md)."""
    step = context.get_step_execution_context()
    accumulator = getattr(step, "_metadata_accumulator", None)
    if accumulator is None or not hasattr(accumulator, "with_additional_asset_metadata"):
        context.add_asset_metadata(metadata, partition_key=key)
        return
    step._metadata_accumulator = accumulator.with_additional_asset_metadata(  # noqa: SLF001
        asset_key=context.asset_key, partition_key=key, metadata=metadata
    )


def _shown(con, path: Path, rows: int, count_by: str | None) -> dict:
    """What the UI shows of one partition (``rows``: as written), recorded with its digest (a kept
    partition shows it again)."""
    return {
        "rows": rows,
        "preview": preview(con, path).value,
        "rows_by": counts_by(con, path, count_by) if count_by else None,
    }


def _metadata(entry: dict, path: Path, computed: bool, count_by: str | None) -> dict:
    """One partition's metadata: its own rows, path, preview and provenance."""
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(entry["rows"]),
        "path": dg.MetadataValue.path(str(path)),
        "computed_this_run": computed,
        "input_digest": entry["digest"][:16],
        "preview": dg.MetadataValue.md(entry["preview"]),
    }
    if count_by:
        metadata[f"rows_by_{count_by}"] = dg.MetadataValue.json(entry["rows_by"])
    return metadata
