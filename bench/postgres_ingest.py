"""Ingest of contributions from PostgreSQL against the same rows from a Parquet file, in one run.

    .venv/bin/python bench/postgres_ingest.py --raw DIR/raw [--work /tmp/pg-bench]

``--raw`` is a generated data dir's raw/ (``deferral generate --scale city --seed 1``). The bench
starts a PostgreSQL server of its own (pipelines/local_postgres.py), then:

1. writes every contribution row of ``--raw`` as one text Parquet file (``files/raw/contributions``),
   with the units beside it;
2. loads the same rows into PostgreSQL (``deferral load-postgres``'s loader) and points a second data
   dir at them (``sources.yaml``; its units stay files);
3. ingests the units in both (not timed), then times the ingest of contributions: from the Parquet
   file; from PostgreSQL (the export of the rows by ADBC included); and from PostgreSQL again with
   nothing changed (the server's digest only; the ingest kept).

It prints the wall time of each, the rows, and the ratio database / Parquet.
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assets.contracts import RAW_TABLES  # noqa: E402
from assets.ingest.engine import ingest_table  # noqa: E402
from assets.resources import warehouse_resource  # noqa: E402
from assets.settings import settings_from_environment  # noqa: E402
from assets.storage import q  # noqa: E402
from pipelines import local_postgres  # noqa: E402
from pipelines.pg_load import load  # noqa: E402

VAR = "DEFERRAL_BENCH_POSTGRES"


def text_parquet(raw: Path, target: Path) -> int:
    """Every contribution row of ``raw`` (CSV and Parquet) as text, one Parquet file."""
    csvs = ", ".join(q(p) for p in sorted((raw / "contributions").rglob("*.csv")))
    parquets = ", ".join(q(p) for p in sorted((raw / "contributions").rglob("*.parquet")))
    relations = [
        f"SELECT * FROM read_csv([{csvs}], all_varchar = true, header = true, delim = ',', union_by_name = true, "
        "ignore_errors = true)"
    ] * bool(csvs) + [f"SELECT COLUMNS(*)::VARCHAR FROM read_parquet([{parquets}], union_by_name = true)"] * bool(
        parquets
    )
    parts = [" UNION ALL BY NAME ".join(f"({r})" for r in relations)]
    target.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        con.execute(f"COPY ({parts[0]}) TO {q(target)} (FORMAT parquet, COMPRESSION zstd)")
        return con.sql(f"SELECT count(*) FROM read_parquet({q(target)})").fetchall()[0][0]


def ingest(data: Path, table: str) -> tuple[float, dict]:
    warehouse = warehouse_resource(str(data), settings=settings_from_environment(gx_data_docs=0))
    started = time.monotonic()
    with warehouse.connect() as con:
        counts = ingest_table(con, warehouse, RAW_TABLES[table])
    return time.monotonic() - started, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/deferral-pg-bench"))
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    files, database = args.work / "files", args.work / "database"
    rows = text_parquet(args.raw, files / "raw" / "contributions" / "contributions.parquet")
    for data in (files, database):
        shutil.copytree(args.raw / "units", data / "raw" / "units")
    server = local_postgres.start()
    try:
        os.environ[VAR] = server.uri()
        started = time.monotonic()
        only = {"units", "contributions"}
        loaded = load(files, server.uri(), "bench", tables=only)
        print(f"loaded {loaded['contributions']['rows']:,} contribution rows into PostgreSQL in "
              f"{time.monotonic() - started:.1f} s (not part of the comparison)")  # fmt: skip
        (database / "sources.yaml").write_text(
            f"tables:\n  contributions: {{connection: {VAR}, table: bench.contributions}}\n", encoding="utf-8"
        )
        for data in (files, database):
            ingest(data, "units")
        parquet_s, counts = ingest(files, "contributions")
        database_s, db_counts = ingest(database, "contributions")
        again_s, _ = ingest(database, "contributions")
        assert counts["accepted"] == db_counts["accepted"], (counts["accepted"], db_counts["accepted"])
        print(f"contributions: {rows:,} rows; accepted {counts['accepted']:,} from both")
        print(f"  from a Parquet file            {parquet_s:7.1f} s")
        print(f"  from PostgreSQL (ADBC export)  {database_s:7.1f} s   ratio {database_s / parquet_s:.2f}x")
        print(f"  from PostgreSQL, unchanged     {again_s:7.1f} s   (the server's digest; the ingest kept)")
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
