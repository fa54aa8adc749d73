"""The four published tables: SPEC section 4 columns, DECIMAL(18,2) money, no raw person ids."""

import duckdb
import pytest

from assets.publication.assets import PUBLISHED_COLUMNS
from tests.worlds import DD, A, B, C, E, F, G

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


@pytest.fixture
def published(obligations_published):
    """The obligations world run and published once as of 2022-12; the tests below only read its publication
    (the last one keeps its person-id probe's state in the warehouse, as a publication does)."""
    return obligations_published


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


def test_the_publication_check_finds_a_raw_person_id_in_a_published_text_column(published, tmp_path):
    """The no_raw_person_id check fails on a staged publication whose deferral list holds a person id of
    the warehouse as a unit's uscc (an individual business may be known by its owner's id), and only
    there; a code shaped like a person id that no person of the warehouse has is no hit."""
    import shutil

    from assets.publication.checks import check_publication
    from assets.resources import warehouse_resource

    root, _ = published
    staging = tmp_path / "staging"
    shutil.copytree((root / "published").resolve(), staging)
    (decisions,) = (staging / "deferral_decisions").glob("*.parquet")
    not_a_person = "110105194912310021"  # shaped like an id, no person of the world
    assert not_a_person not in (A, B, C, DD, E, F, G)
    con = duckdb.connect()
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{decisions}')").fetchall()[0][0]
    assert rows >= 2
    con.execute(
        f"COPY (SELECT * REPLACE (CASE row_number() OVER () WHEN 1 THEN '{A}' WHEN 2 THEN '{not_a_person}' "
        f"ELSE uscc END AS uscc) FROM read_parquet('{decisions}')) TO '{tmp_path}/d.parquet' (FORMAT parquet)"
    )
    shutil.move(tmp_path / "d.parquet", decisions)
    warehouse = warehouse_resource(str(root))
    with warehouse.connect() as wcon:
        results = check_publication(wcon, warehouse, staging, lambda t: t)
    found = {(r.asset_key.path[-1], r.check_name): r for r in results}
    hit = found[("deferral_decisions", "no_raw_person_id")]
    assert not hit.passed and hit.metadata["columns_with_ids"].value == {"uscc": 1}
    others = [k for k, r in found.items() if k[1] == "no_raw_person_id" and k[0] != "deferral_decisions"]
    assert len(others) == len(PUBLISHED_COLUMNS) - 1 and all(found[k].passed for k in others)

    cleared = con.execute(f"SELECT v FROM '{root}/warehouse/person_id_probe/cleared.parquet'").fetchall()
    assert (not_a_person,) in cleared and (A,) not in cleared
    # the code no person had was cleared and is kept as such; an accepted-row file written since, in which a
    # person has that id, is probed for it: both ids found now
    (events, *_) = warehouse.clean_files("employee_events")
    added = events.with_name("part-added-since.parquet")
    con.execute(
        f"COPY (SELECT * REPLACE ('{not_a_person}' AS person_id) FROM read_parquet('{events}') LIMIT 1) "
        f"TO '{added}' (FORMAT parquet)"
    )
    try:
        with warehouse.connect() as wcon:
            again = check_publication(wcon, warehouse, staging, lambda t: t)
    finally:
        added.unlink()
    hit = {(r.asset_key.path[-1], r.check_name): r for r in again}[("deferral_decisions", "no_raw_person_id")]
    assert not hit.passed and hit.metadata["columns_with_ids"].value == {"uscc": 2}
