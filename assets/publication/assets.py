"""Publication (发布): the SPEC section 4 tables for the bureaus, as Parquet under published/.

Snapshot tables hold the state as of the run's report month (``--as-of``, else the latest month
computed). ``monthly_statistics`` holds every report month, Hive-partitioned by report_month.

A publication is one unit (one step, one multi-asset): every table and the bureau report are
written into ``publications/.staging-<version>/``, renamed to ``publications/<version>/`` with a
``PUBLICATION.json`` manifest, and ``published`` — a symlink — is switched to it with one atomic
rename. Readers of ``published/<table>/`` see the whole previous publication or the whole new
one; earlier versions stay under ``publications/`` for the auditors; a killed run's staging
folder is removed by the next publication (which holds the data dir's lock). Each Parquet file
is named after its content's hash, so a reader that listed the old files just before a switch
either reads identical bytes or gets a clear file-not-found, never a silent mix. The same inputs
give the same files (rows in a fixed order), so reruns are idempotent. Persons appear only
as person_key (HMAC-SHA256 with DEFERRAL_PII_KEY); quarantine and warehouse files, which hold raw
identifiers, are never published.
"""

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from assets.month_digests import MONTH_INPUTS_TAG
from assets.partitions import run_report_month
from assets.publication.checks import check_publication, check_specs, column_description, published_relation
from assets.publication.diff import publication_digests
from assets.publication.report import write_report, writers
from assets.publication.report_reuse import kept_history
from assets.publication.restatements import changed_files, raw_listing, restated_metadata, restatements
from assets.publication.tables import PUBLISHED_COLUMNS, column_sources, register_directory, write_table
from assets.resources import Warehouse
from assets.storage import exact_preview, q

DESCRIPTIONS = {
    "fund_reserve_status": "Fund reserve per pooling region: months payable, eligibility, outstanding deferral. "
    "统筹基金可支付月数与待补缴。",
    "deferral_decisions": "The deferral list: every unit with its decision and reason. "
    "缓缴名单及原因（免申即享/承诺）。",
    "deferral_ledger": "Deferred amounts per unit, period and component. 缓缴台账。",
    "repayment_schedule": "Repayment obligations with status and late fee; persons only as person_key. "
    "补缴计划、状态与滞纳金。",
    "reconciliation_discrepancies": "Differences between health's ledger and the tax register. 医保与税务核对差异。",
    "deferral_plan": "The per-unit plan health sends to tax (分户传递): planned deferral and due date. 分户缓缴计划。",
    "monthly_statistics": "Monthly statistics per region and province x category, health and tax side by side. "
    "月度统计。",
    "repayment_notices": "Collection notices per unit and report month: overdue, due now, due next month. 催缴提醒。",
    "unit_status": "Each deferring unit's payment status per report month; only in arrears is not regarded as paid. "
    "缴费状态。",
    "risk_watch": "Risk flags per unit and report month: headcount drop, missing regular payment, deregistered with "
    "outstanding, employee share unpaid. 缓缴风险预警。",
}


PUBLICATIONS = "publications"
MANIFEST = "PUBLICATION.json"


def _clean_leftovers(root: Path) -> list[str]:
    """Staging folders of killed runs, pointer temp links, and the old in-place layout's dot-folders."""
    removed = []
    for leftover in [*(root / PUBLICATIONS).glob(".staging-*"), *root.glob(".published.*.tmp")]:
        if leftover.is_symlink():
            leftover.unlink()
        else:
            shutil.rmtree(leftover, ignore_errors=True)
        removed.append(leftover.name)
    published = root / "published"
    if published.is_dir() and not published.is_symlink():  # the layout before publications/: keep it as a version
        for dot in published.glob(".*"):
            shutil.rmtree(dot, ignore_errors=True)
        legacy = root / PUBLICATIONS / f"legacy-{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
        legacy.parent.mkdir(parents=True, exist_ok=True)
        published.rename(legacy)
        os.symlink(os.path.relpath(legacy, root), published)
        removed.append("published/ (moved to publications/" + legacy.name + ")")
    return removed


def switch_pointer(root: Path, version: Path) -> None:
    """``published`` -> ``publications/<version>``, atomically (a new link renamed over the old)."""
    tmp = root / f".published.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.relpath(version, root), tmp)
    os.replace(tmp, root / "published")


def stage(
    con, warehouse: Warehouse, month: str, run_id: str, month_inputs: str | None = None
) -> tuple[Path, dict[str, int], list[str]]:
    """Writes a whole publication as of ``month`` into ``publications/.staging-<version>/``;
    ``month_inputs``: the name of the inputs the run was planned from (the run's tag).

    Returns the staging folder, rows per table, and the leftovers of killed runs removed."""
    root = warehouse.root
    removed = _clean_leftovers(root)
    name = f"{month}_{datetime.now(timezone.utc):%Y%m%dT%H%M%S}_{run_id[:8]}"
    staging = root / PUBLICATIONS / f".staging-{name}"
    staging.mkdir(parents=True)
    try:
        # the workbooks' writer processes start first: their imports overlap the tables' writing
        with writers(warehouse) as pool:
            register_directory(con, warehouse)
            previous = (root / "published").resolve() if (root / "published" / MANIFEST).exists() else None
            history, keep = kept_history(warehouse, previous, month)  # months made from the same inputs: linked
            rows = {
                t: write_table(con, warehouse, t, month, staging / t, keep.get(t), previous) for t in PUBLISHED_COLUMNS
            }
            raw = raw_listing(warehouse)
            corrections = {"rows": restatements(con, previous, staging), "files": changed_files(previous, raw)}
            _, report_inputs = write_report(con, warehouse, staging, staging / "report", month, corrections, pool)
        (staging / MANIFEST).write_text(
            json.dumps(
                {
                    "as_of_month": month,
                    "run_id": run_id,
                    # what its months were computed from (assets/month_digests.py inputs_name): a run
                    # planned from the same inputs as of the same month has nothing to publish anew
                    "month_inputs": month_inputs,
                    "rows": rows,
                    # per table (and report month) its rows and an order-independent digest (diff.py)
                    "tables": publication_digests(con, staging, keep),
                    "history_inputs": history,  # what each month of HISTORY is made from (report_reuse.py)
                    "pii_key": warehouse.settings.pii_key_kind,
                    "policy_profiles": profile_identities(warehouse),
                    # what each month's workbook was made from: the next publication keeps a month whose
                    # inputs are unchanged (assets/publication/report.py)
                    "report_inputs": report_inputs,
                    "raw_files": raw,  # what it was made from: the next one names the files that changed
                    "previous": previous.name if previous else None,
                    "restated_months": sorted({r["report_month"] for r in corrections["rows"]}),
                    "restatements": corrections["rows"],
                },
                indent=1,
                default=str,
            ),
            encoding="utf-8",
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, rows, removed


def commit(root: Path, staging: Path) -> Path:
    """The staged publication becomes ``publications/<version>/`` and ``published`` points to it."""
    version = staging.with_name(staging.name.removeprefix(".staging-"))
    staging.rename(version)
    switch_pointer(root, version)
    return version


def published_from(root: Path, month: str) -> str | None:
    """The inputs name (``month_inputs``) of the current publication when it is as of ``month``."""
    try:
        manifest = json.loads((root / "published" / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest.get("month_inputs") if manifest.get("as_of_month") == month else None


def profile_identities(warehouse: Warehouse) -> dict[str, str]:
    """policy_id -> sha256 of the profile file's bytes (its version, not a local path)."""
    return {p.policy_id: p.content_hash for p in warehouse.profiles()}


def _table_metadata(con, warehouse: Warehouse, table: str, version: Path, n: int, month: str) -> dict:
    upstream = dg.AssetKey([table])
    rel = con.sql(published_relation(version / table))
    schema = dg.TableSchema(
        columns=[
            dg.TableColumn(c, str(t), description=column_description(table, c)) for c, t in zip(rel.columns, rel.types)
        ]
    )
    of_month = " WHERE report_month = " + q(month) if "report_month" in rel.columns else ""  # the run's month
    lineage = dg.TableColumnLineage(
        deps_by_column={
            c: [dg.TableColumnDep(asset_key=upstream, column_name=s) for s in sources]
            for c, sources in column_sources(table, month).items()
        }
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(n),
        "dagster/column_schema": schema,
        "dagster/column_lineage": lineage,
        "as_of_month": month,
        "pii_key": warehouse.settings.pii_key_kind,
        "policy_profiles": dg.MetadataValue.json(profile_identities(warehouse)),
        "publication": version.name,
        "path": dg.MetadataValue.path(str(warehouse.published_dir(table))),
        "preview": dg.MetadataValue.md(exact_preview(con, f"SELECT * FROM ({rel.sql_query()}){of_month}")),
    }


REPORT_KEY = dg.AssetKey(["published", "bureau_report"])


class PublicationConfig(dg.Config):
    """Which report month to publish when the run has no partition of its own (publication
    materialized alone): empty means the latest month computed. A run launched for a range of
    report months publishes the range's last month."""

    report_month: str = ""


def published_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["published", table])


@dg.multi_asset(
    name="publication",
    group_name="publication",
    check_specs=check_specs(published_key),
    specs=[
        *(
            dg.AssetSpec(
                ["published", t],
                deps=[dg.AssetKey([t])],
                kinds={"parquet"},
                owners=["team:data-engineering"],
                description=f"{DESCRIPTIONS[t]} published/{t}/ (SPEC section 4).",
            )
            for t in PUBLISHED_COLUMNS
        ),
        dg.AssetSpec(
            REPORT_KEY,
            deps=[dg.AssetKey(["monthly_statistics"]), dg.AssetKey(["reconciliation_discrepancies"])],
            kinds={"excel"},
            owners=["team:data-engineering"],
            description="Per province and report month the workbook the bureau files (report/<province_code>/"
            "<YYYY-MM>/): a sheet per category with region names and the province total, every "
            "discrepancy open as of the month, the 口径说明, print-ready; and a chart by region. "
            "Earlier publications stay under publications/ (the archive of what was sent). "
            "各省每月统计报表（Excel，可直接打印）与趋势图；历次发布留档。",
        ),
    ],
)
def publication(context: dg.AssetExecutionContext, config: PublicationConfig, warehouse: Warehouse):
    """One publication (发布): every SPEC section 4 table and the bureau report, switched in together,
    after its checks pass on the staged folder (a failed check leaves the previous publication)."""
    month = run_report_month(context) or config.report_month or warehouse.latest_policy_month("deferral_decisions")
    with warehouse.connect() as con:
        staging, rows, removed = stage(con, warehouse, month, context.run_id, context.run.tags.get(MONTH_INPUTS_TAG))
        if removed:
            context.log.warning(f"removed leftovers of an interrupted publication: {', '.join(removed)}")
        results = check_publication(con, warehouse, staging, published_key)
        yield from results
        failed = sorted({f"{r.asset_key.path[-1]}.{r.check_name}" for r in results if not r.passed})
        if failed:
            shutil.rmtree(staging, ignore_errors=True)
            raise dg.Failure(
                description=f"publication as of {month} refused, the previous one stays: failed checks "
                f"{', '.join(failed)}",
                allow_retries=False,
            )
        version = commit(warehouse.root, staging)
        context.log.info(f"published {version.name} as of {month}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
        for table, n in rows.items():
            yield dg.MaterializeResult(
                asset_key=["published", table], metadata=_table_metadata(con, warehouse, table, version, n, month)
            )
    workbooks = sorted((version / "report").glob(f"*/{month}/*.xlsx"))
    yield dg.MaterializeResult(
        asset_key=REPORT_KEY,
        metadata={
            "workbooks": len(sorted((version / "report").glob("*/*/*.xlsx"))),
            "publication": version.name,
            "as_of_month": month,
            "workbooks_of_the_month": dg.MetadataValue.json([str(w.relative_to(version)) for w in workbooks]),
            **{
                f"open {w.parent.parent.name}": dg.MetadataValue.url(warehouse.docs_link(str(w.relative_to(version))))
                for w in workbooks
            },
            "archive": dg.MetadataValue.path(str(warehouse.root / PUBLICATIONS)),
            **restated_metadata(version),
        },
    )


published_assets = [publication]
