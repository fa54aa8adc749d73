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
