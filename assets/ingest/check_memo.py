"""Check characters computed once per value, across runs: the GB 11643 (person id) and GB 32100 (USCC)
checks are Python functions (python-stdnum) called through DuckDB, about half a microsecond a value, and
a month's export of a province names four million persons again. What each value gave is kept in
``warehouse/checks/<check>/<version>/part-*.parquet`` (value, ok), under a version of the checks' code
and python-stdnum's, so a run checks only the values no run checked before. ``deferral run --full``
checks every value again (and keeps the values not kept yet).
校验位结果按取值缓存：每个取值只校验一次。
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path

import stdnum

from assets import identifiers
from assets.resources import Warehouse
from assets.storage import q, scalar, write_parquet


def version() -> str:
    """What a check's result depends on besides the value: the checks' code and python-stdnum."""
    source = Path(identifiers.__file__).read_bytes()
    return hashlib.sha256(source + b"\0" + stdnum.__version__.encode()).hexdigest()[:16]


def failing(con, warehouse: Warehouse, check: str, values: str, into: str) -> None:
    """Temp table ``into`` (v): the values of the relation ``values`` (a column v, distinct) for which the
    SQL function ``check`` is false. The values no run checked before are checked now and kept."""
    folder = warehouse.root / "warehouse" / "checks" / check / version()
    none = "(SELECT NULL::VARCHAR AS v, NULL::BOOLEAN AS ok WHERE false)"
    parts = sorted(folder.glob("part-*.parquet"))
    stored = f"read_parquet([{', '.join(q(p) for p in parts)}])" if parts else none
    known = none if warehouse.recompute_all else stored
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_values AS SELECT v FROM {values}")
    # the values new to the memo, materialized before the check so that it is called once a value
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_new AS SELECT v FROM {into}_values ANTI JOIN {known} USING (v)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_fresh AS SELECT v, {check}(v) AS ok FROM {into}_new")
    keep = f"SELECT v, ok FROM {into}_fresh" + (f" ANTI JOIN {stored} USING (v)" if known is not stored else "")
    if scalar(con, f"SELECT count(*) FROM ({keep})"):
        folder.mkdir(parents=True, exist_ok=True)
        # a name of this writer's own (two steps may check values at once); written whole, then renamed
        name = f"part-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex[:8]}.parquet"
        write_parquet(con, f"{keep} ORDER BY v", folder / name)
        for stale in folder.parent.iterdir():  # the memo of an earlier version of the checks
            if stale.is_dir() and stale.name != folder.name:
                shutil.rmtree(stale, ignore_errors=True)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT v FROM {into}_fresh WHERE NOT ok "
        f"UNION ALL SELECT v FROM {into}_values SEMI JOIN (SELECT v FROM {known} WHERE NOT ok) USING (v)"
    )
