"""What a run published, in the shape of the manifest's ``planted`` sections, so a test or an
operator compares the two: ``found_collection(data_dir, months) == manifest["planted"]["collection"]``."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.storage import q


def found_collection(data_dir: str | Path, months: list[str]) -> dict:
    """Units per status (unit_status) and units per flag (risk_watch) at each report month."""
    published = Path(data_dir) / "published"
    con = duckdb.connect()

    def counts(table: str, column: str, month: str) -> dict:
        files = published / table / f"report_month={month}"
        if not files.exists():
            return {}
        rows = con.execute(
            f"SELECT {column}, count(DISTINCT unit_id) FROM read_parquet({q(str(files / '*.parquet'))}) "
            "GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return {str(k): int(v) for k, v in rows}

    return {
        m: {"unit_status": counts("unit_status", "status", m), "risk_watch": counts("risk_watch", "flag", m)}
        for m in months
    }
