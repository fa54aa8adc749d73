"""SQL files are split by DuckDB's parser, not by text; files staged side by side give what one by one gives;
Parquet statistics answer only where they are exact."""

import time
from pathlib import Path

import duckdb
import pytest

from assets.contracts import RAW_TABLES
from assets.ingest.sources import BadInputFile, count_records, list_sources
from assets.ingest.staging import stage_table
from assets.partitions import latest_contribution_period
from assets.storage import side_by_side, sql_statements


def test_statements_split_by_duckdb_not_at_a_semicolon_inside_a_string(tmp_path):
    path = tmp_path / "t.sql"
    path.write_text(
        "-- head\nCREATE TEMP TABLE a AS SELECT ';\n' AS x;\n-- between\nSELECT ${n} AS y;\n-- tail\n", encoding="utf-8"
    )
    assert sql_statements(path, n=5) == ["CREATE TEMP TABLE a AS SELECT ';\n' AS x", "SELECT 5 AS y"]


def _staged(tmp_path, threads: int) -> tuple[list, list]:
    """The sample's units files (UTF-8, GB18030, and corrections with broken records) staged with
    ``threads`` DuckDB threads: every staged row and every structural reject."""
    root = Path("data/sample").resolve()
    files = sorted((root / "raw" / "units").glob("*.csv"))
    staged = tmp_path / f"staged-{threads}"
    con = duckdb.connect(config={"threads": threads})
    stage_table(con, list_sources(files), RAW_TABLES["units"].columns, staged, root)
    rows = con.execute(f"SELECT * FROM read_parquet('{staged}/part-*.parquet') ORDER BY ALL").fetchall()
    rejects = con.execute(f"SELECT * FROM read_parquet('{staged}/rejects-*.parquet') ORDER BY ALL").fetchall()
    con.close()
    return rows, rejects


def test_files_staged_side_by_side_give_what_one_after_the_other_gives(tmp_path):
    one_by_one, rejects_one = _staged(tmp_path, 1)
    side_by_side, rejects_two = _staged(tmp_path, 2)
    assert side_by_side == one_by_one and rejects_two == rejects_one
    # every record read, with its own file and line (csv's reader, not DuckDB's, counts them)
    files = sorted(Path("data/sample/raw/units").glob("*.csv"))
    by_file = {f.name: 0 for f in files}
    for source_file, *_ in one_by_one + [(r[0],) for r in rejects_one]:
        by_file[Path(source_file).name] += 1
    assert by_file == {f.name: count_records(f) for f in files}
    assert all(line >= 2 for _, line, *_ in one_by_one)  # line 1 is the header


def test_an_error_in_one_item_stops_the_rest_and_is_raised_by_name():
    con = duckdb.connect(config={"threads": 2})
    con.execute("CREATE TABLE shared AS SELECT 41 AS x")  # not TEMP: every connection reads it
    seen = []

    def work(item_con, item):
        if item == "bad":
            raise BadInputFile("raw/units/bad.csv: broken")
        item_con.execute("CREATE OR REPLACE TEMP TABLE mine AS SELECT x + 1 AS y FROM shared")
        seen.append(item_con.execute("SELECT y FROM mine").fetchall()[0][0])
        time.sleep(0.2)

    with pytest.raises(BadInputFile, match="raw/units/bad.csv"):
        side_by_side(con, ["a", "bad"] + ["c"] * 50, work)
    # what had not started when "bad" failed never ran (all of it: 50 x 0.2 s on two threads, 5 s)
    assert 1 <= len(seen) < 10 and set(seen) == {42}


def test_latest_period_from_the_files_statistics_or_from_their_rows_where_a_file_has_none(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "warehouse" / "clean" / "contributions"
    assert latest_contribution_period(tmp_path) is None  # nothing accepted yet
    (folder / "anhui-2022").mkdir(parents=True)
    (folder / "shanxi-2022").mkdir(parents=True)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM (VALUES ('2022-07'), ('2023-02'), (NULL)) t(period)) "
        f"TO '{folder / 'anhui-2022' / 'part-a.parquet'}'"
    )
    con.execute(f"COPY (SELECT NULL::VARCHAR AS period) TO '{folder / 'shanxi-2022' / 'part-b.parquet'}'")
    con.execute(f"COPY (SELECT 'x'::VARCHAR AS period LIMIT 0) TO '{folder / 'shanxi-2022' / 'part-c.parquet'}'")
    assert latest_contribution_period(tmp_path) == "2023-02"
    # a file written without statistics: its rows are read, so its later period counts
    pq.write_table(
        pa.table({"period": ["2023-05", "2022-09"]}), folder / "shanxi-2022" / "part-d.parquet", write_statistics=False
    )
    assert latest_contribution_period(tmp_path) == "2023-05"


def test_a_table_s_files_are_read_largest_first_so_a_join_builds_on_the_small_side(tmp_path):
    from assets.storage import read_largest_first

    con = duckdb.connect()
    # an input of no accepted rows sorts first by name, as a clean folder's part of one can
    con.execute(f"COPY (SELECT 1 AS unit_id, 'p' AS person_id LIMIT 0) TO '{tmp_path / 'part-0.parquet'}'")
    rows = "SELECT i % 1000 AS unit_id, 'p' || i AS person_id FROM range(200000) t(i)"
    con.execute(f"COPY ({rows}) TO '{tmp_path / 'part-1.parquet'}'")
    con.execute("CREATE TABLE events AS SELECT i AS unit_id, 'p' || i AS person_id FROM range(10) t(i)")
    relation = read_largest_first(tmp_path / "part-*.parquet")
    assert relation.index("part-1.parquet") < relation.index("part-0.parquet")
    plan = con.execute(f"EXPLAIN SELECT * FROM {relation} c SEMI JOIN events USING (unit_id, person_id)").fetchall()
    # the hash table on the ten events, not on the 200,000 rows (RIGHT_SEMI: built on the left side)
    assert "SEMI" in plan[0][1] and "RIGHT_SEMI" not in plan[0][1]
    assert con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0] == 200000
