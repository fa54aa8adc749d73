"""Running the policy SQL: views over upstream Parquet, shared macros, the as-of date, person keys."""

import calendar
from pathlib import Path

import duckdb
import yaml

from assets.contracts import RAW_TABLES
from assets.identifiers import register_person_key
from assets.storage import q, sql_statements
from assets.resources import Warehouse

SQL_DIR = Path(__file__).parent
THRESHOLDS_FILE = SQL_DIR / "sme_thresholds.yaml"  # 工信部联企业〔2011〕300号, as data


def month_params(month: str) -> dict[str, str]:
    year, mon = int(month[:4]), int(month[5:7])
    return {"as_of_month": month, "as_of_date": f"{month}-{calendar.monthrange(year, mon)[1]:02d}"}


def prepare(con: duckdb.DuckDBPyConnection, warehouse: Warehouse, month: str, log=None) -> dict[str, str]:
    """Views for every clean table and every policy output of report ``month``; macros; the
    person_key UDF. Returns the SQL template values (as_of_month, as_of_date)."""
    for table in RAW_TABLES:
        con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({q(warehouse.clean_path(table))})")
    params = month_params(month)
    policy = warehouse.root / "warehouse" / "policy"
    for path in sorted(policy.glob("*.parquet")) + sorted(policy.glob(f"*/{params['as_of_month']}.parquet")):
        name = path.stem if path.parent == policy else path.parent.name
        con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet({q(path)})")
    _thresholds(con)
    for statement in sql_statements(SQL_DIR / "macros.sql"):
        con.execute(statement)
    register_person_key(con, warehouse.pii_key)  # a development key is announced once per run by Settings
    return params


def _thresholds(con: duckdb.DuckDBPyConnection) -> None:
    spec = yaml.safe_load(THRESHOLDS_FILE.read_text(encoding="utf-8"))
    rows = []
    for cat in spec["categories"]:
        x, y, z = (cat.get(k) or [None, None, None] for k in ("X", "Y", "Z"))
        rows += [(cat["category"], code, *x, *y, *z) for code in cat["codes"]]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE sme_thresholds (category VARCHAR, prefix VARCHAR, "
        "x_cap BIGINT, x_medium BIGINT, x_small BIGINT, y_cap BIGINT, y_medium BIGINT, y_small BIGINT, "
        "z_cap BIGINT, z_medium BIGINT, z_small BIGINT)")
    con.executemany("INSERT INTO sme_thresholds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def render(name: str, params: dict[str, str], sql_dir: Path = SQL_DIR) -> list[str]:
    """The statements of ``<name>.sql``; the last one is the query whose rows are the asset."""
    return sql_statements(sql_dir / f"{name}.sql", **params)
