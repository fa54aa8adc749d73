"""Publication (发布): the SPEC section 4 tables for the bureaus, as Parquet under published/.

Each published table is a folder written whole under a temporary name and swapped in, so a
reader never sees half a table and a failed run leaves the previous publication. Persons appear
only as person_key (HMAC-SHA256 with DEFERRAL_PII_KEY); quarantine and warehouse files, which
hold raw identifiers, are never published.
"""

import os
import shutil

import dagster as dg

from assets.storage import q, write_parquet
from pipelines.resources import Warehouse

# SPEC section 4 columns, in order.
PUBLISHED_COLUMNS = {
    "fund_reserve_status": ["region_code", "policy_id", "as_of_month", "months_payable", "eligible",
                            "outstanding_deferred", "months_payable_after_deferral"],
    "deferral_decisions": ["unit_id", "uscc", "unit_name", "region_code", "policy_id", "unit_type", "size_class",
                           "classification", "basis", "eligible", "reason", "window_start", "window_end", "shifted"],
    "deferral_ledger": ["unit_id", "uscc", "region_code", "period", "component", "assessed_amount", "paid_amount",
                        "refunded_amount", "deferred_amount", "insured_persons"],
    "repayment_schedule": ["obligation_id", "unit_id", "uscc", "region_code", "person_key", "trigger", "period",
                           "component", "amount", "due_date", "repaid_amount", "outstanding_amount", "status",
                           "late_fee"],
}


def publish_table(con, warehouse: Warehouse, table: str, query: str) -> int:
    """Write ``published/<table>/`` whole and swap it in; returns rows written."""
    final = warehouse.published_dir(table)
    staging = final.with_name(f".{table}.{os.getpid()}.new")
    shutil.rmtree(staging, ignore_errors=True)
    n = write_parquet(con, query, staging / "part-0.parquet")
    old = final.with_name(f".{table}.{os.getpid()}.old")
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return n


def _published_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey(["published", table]),
        group_name="publication",
        kinds={"parquet"},
        deps=[dg.AssetKey([table])],
        owners=["team:data-engineering"],
        description=f"published/{table}/ for the bureaus (SPEC section 4). 对外发布的 {table} 表。",
    )
    def _publish(warehouse: Warehouse) -> dg.MaterializeResult:
        columns = ", ".join(PUBLISHED_COLUMNS[table])
        with warehouse.connect() as con:
            n = publish_table(con, warehouse, table,
                              f"SELECT {columns} FROM read_parquet({q(warehouse.policy_path(table))})")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": dg.MetadataValue.int(n),
            "path": dg.MetadataValue.path(str(warehouse.published_dir(table))),
        })

    return _publish


published_assets = [_published_asset(t) for t in PUBLISHED_COLUMNS]
