"""SQL files are split by DuckDB's parser, not by text."""

from assets.storage import sql_statements


def test_statements_split_by_duckdb_not_at_a_semicolon_inside_a_string(tmp_path):
    path = tmp_path / "t.sql"
    path.write_text(
        "-- head\nCREATE TEMP TABLE a AS SELECT ';\n' AS x;\n-- between\nSELECT ${n} AS y;\n-- tail\n", encoding="utf-8"
    )
    assert sql_statements(path, n=5) == ["CREATE TEMP TABLE a AS SELECT ';\n' AS x", "SELECT 5 AS y"]
