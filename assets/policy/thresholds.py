"""The 300号 table (工信部联企业〔2011〕300号) as data: ``sme_thresholds.yaml`` beside the policy SQL, loaded
as the DuckDB table ``sme_thresholds`` that sme_classification.sql (and `deferral explain`) read."""

from pathlib import Path

import duckdb
import yaml

THRESHOLDS_FILE = Path(__file__).parent / "sme_thresholds.yaml"


def thresholds_source() -> str:
    """The clause the table comes from, as the file cites it."""
    return yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))["source"]


def sme_thresholds(con: duckdb.DuckDBPyConnection) -> None:
    """The table ``sme_thresholds``: one row per industry code prefix of the 300号 table."""
    spec = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    rows = []
    for cat in spec["categories"]:
        x, y, z = (cat.get(k) or [None, None, None] for k in ("X", "Y", "Z"))
        rows += [(cat["category"], code, *x, *y, *z) for code in cat["codes"]]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sme_thresholds (category VARCHAR, prefix VARCHAR, "
        "x_cap BIGINT, x_medium BIGINT, x_small BIGINT, y_cap BIGINT, y_medium BIGINT, y_small BIGINT, "
        "z_cap BIGINT, z_medium BIGINT, z_small BIGINT)"
    )
    con.executemany("INSERT INTO sme_thresholds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
