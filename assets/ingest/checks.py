"""The ingest stage's own check: every raw record is accounted for (SPEC section 4).
每张原始表的记录均有去处：入库、隔离或完全重复。"""

import dagster as dg

from assets.contracts import RAW_TABLES, RawTable, ingest_key
from assets.ingest.counts import records_in_files
from assets.resources import Warehouse
from assets.storage import q, scalar


def _build_accounting_check(table: RawTable) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=ingest_key(table.name),
        name="rows_accounted_for",
        blocking=True,
        description="Records in the raw files (counted from the files themselves, not by the ingest reader) = accepted "
        "+ quarantined + exact duplicates (SPEC section 4). 原始记录数 = 入库 + 隔离 + 完全重复。",
    )
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        read = records_in_files(warehouse, table.name)
        with warehouse.connect() as con:
            accepted = scalar(con, f"SELECT count(*) FROM read_parquet({q(warehouse.clean_path(table.name))})")
            quarantined = scalar(
                con, f"SELECT count(*) FROM read_parquet({q(warehouse.quarantine_path(table.name, '*'))})"
            )
            duplicates = scalar(con, f"SELECT count(*) FROM read_parquet({q(warehouse.duplicates_path(table.name))})")
        return dg.AssetCheckResult(
            passed=read == accepted + quarantined + duplicates,
            metadata={
                "rows_read": read,
                "accepted": accepted,
                "quarantined": quarantined,
                "exact_duplicates": duplicates,
                "unaccounted": read - accepted - quarantined - duplicates,
            },
        )

    return _check


accounting_checks = [_build_accounting_check(t) for t in RAW_TABLES.values()]
