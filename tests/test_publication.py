"""The four published tables: SPEC section 4 columns, DECIMAL(18,2) money, no raw person ids."""

import duckdb
import pytest

from assets.publication.assets import PUBLISHED_COLUMNS
from tests.worlds import DD, A, B, C, E, F, G, obligations_world

MONEY = {
    "outstanding_deferred",
    "assessed_amount",
    "paid_amount",
    "refunded_amount",
    "deferred_amount",
    "amount",
    "repaid_amount",
    "outstanding_amount",
    "late_fee",
}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """The obligations world run and published once as of 2022-12; the tests below only read it."""
    root = tmp_path_factory.mktemp("published")
    return root, obligations_world(root).run(as_of="2022-12", publish=True)


def test_published_tables(published):
    tmp_path, out = published
    con = duckdb.connect()
    for table, columns in PUBLISHED_COLUMNS.items():
        rel = con.sql(
            f"SELECT * FROM read_parquet('{tmp_path}/published/{table}/**/*.parquet', hive_partitioning = true)"
        )
        assert sorted(rel.columns) == sorted(columns), table
        types = dict(zip(rel.columns, (str(t) for t in rel.types)))
        if table == "monthly_statistics":  # the Hive partition column reads back as YYYY-MM text
            assert types["report_month"] == "VARCHAR"
            assert {m for (m,) in con.execute(f"SELECT DISTINCT report_month FROM ({rel.sql_query()})").fetchall()} == {
                "2022-12"
            }
        for column in MONEY & set(columns):
            assert types[column] == "DECIMAL(18,2)", (table, column)
    assert con.execute(
        f"SELECT typeof(months_payable) FROM read_parquet('{tmp_path}/published/fund_reserve_status/*.parquet') LIMIT 1"
    ).fetchall() == [("DECIMAL(18,4)",)]
    n = con.execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/published/repayment_schedule/*.parquet')"
    ).fetchall()
    assert n == [(len(out.rows("repayment_schedule")),)]


def test_no_raw_person_id_in_published_bytes(published):
    tmp_path, _ = published
    blobs = [p.read_bytes() for p in (tmp_path / "published").rglob("*") if p.is_file()]
    assert blobs
    for person_id in (A, B, C, DD, E, F, G):
        assert not any(person_id.encode() in blob for blob in blobs)


def test_no_raw_person_id_in_any_published_value(published):
    """Parquet pages are compressed, so the byte scan above is backed by a scan of decoded values."""
    tmp_path, _ = published
    con = duckdb.connect()
    ids = [A, B, C, DD, E, F, G]
    for path in (tmp_path / "published").rglob("*.parquet"):
        rel = con.sql(f"SELECT * FROM read_parquet('{path}')")
        for column, kind in zip(rel.columns, rel.types):
            if str(kind) == "VARCHAR":
                values = {
                    v
                    for (v,) in con.execute(f"SELECT DISTINCT \"{column}\" FROM read_parquet('{path}')").fetchall()
                    if v
                }
                assert not any(i in v for v in values for i in ids), (path, column)
