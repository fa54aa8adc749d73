"""A step that needs more memory than DEFERRAL_DUCKDB_MEMORY fails with one line naming the setting
that raises it, not DuckDB's tuning advice or a traceback."""

import dagster as dg
import pytest

from assets.resources import warehouse_resource
from assets.settings import settings_from_environment


def test_out_of_memory_names_the_setting(data_dir):
    warehouse = warehouse_resource(
        str(data_dir), settings=settings_from_environment(duckdb_memory="16MB", duckdb_threads=1)
    )
    with pytest.raises(dg.Failure) as failure:
        with warehouse.connect() as con:
            # a distinct aggregate keeps every value in memory: 5 million strings do not fit in 16 MB
            con.execute("SELECT count(DISTINCT i::VARCHAR || 'x') FROM range(5000000) t(i)").fetchall()
    message = failure.value.description
    assert "\n" not in message
    assert message.startswith("DuckDB ran out of memory at its ceiling DEFERRAL_DUCKDB_MEMORY=16MB")
    assert "raise DEFERRAL_DUCKDB_MEMORY" in message and "DEFERRAL_DUCKDB_THREADS=1" in message


def test_databases_side_by_side_share_the_ceiling(data_dir):
    # the defaults, 2GB (2,000,000,000 bytes, as DuckDB reads GB) and 2 threads, shared by two provinces:
    # 1,000,000,000 bytes = 953.67 MiB each, rounded down to the MiB; every thread each
    warehouse = warehouse_resource(
        str(data_dir), settings=settings_from_environment(duckdb_memory="2GB", duckdb_threads=2)
    )
    with warehouse.connect(share=2) as con:
        shared = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
    with warehouse.connect() as con:
        whole = con.execute("SELECT current_setting('memory_limit'), current_setting('threads')").fetchall()
    assert shared == [("953.0 MiB", 2)]
    assert whole == [("1.8 GiB", 2)]
