"""Check characters computed once per value, across runs: the GB 11643 (person id) and GB 32100 (USCC)
checks are Python functions (python-stdnum) called through DuckDB, about half a microsecond a value, and
a month's export of a province names four million persons again. What each value gave is kept in
``warehouse/checks/<check>/<version>/part-*.parquet`` (value, ok), under a version of the checks' code
and python-stdnum's, so a run checks only the values no run checked before. ``deferral run --full``
checks every value again, once in the run.
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


def _run_mark(warehouse: Warehouse) -> str:
    """What names the memo's files one run wrote: a digest of the run's token (its lock owner)."""
    token = warehouse.run_token or f"{os.getpid()}-{threading.get_ident()}"
    return "r" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def failing(con, warehouse: Warehouse, check: str, values: str, into: str) -> None:
    """Temp table ``into`` (v): the values of the relation ``values`` (a column v, distinct) for which the
    SQL function ``check`` is false. The values no run checked before are checked now and kept. A ``--full``
    run knows only what it checked itself (the files named by its run), so each value is checked again once
    in that run, not once per table that names it; its first file replaces the earlier runs' files."""
    folder = warehouse.root / "warehouse" / "checks" / check / version()
    none = "(SELECT NULL::VARCHAR AS v, NULL::BOOLEAN AS ok WHERE false)"
    mark = _run_mark(warehouse)
    parts = sorted(folder.glob(f"part-{mark}-*.parquet" if warehouse.recompute_all else "part-*.parquet"))
    known = f"read_parquet([{', '.join(q(p) for p in parts)}])" if parts else none
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_values AS SELECT v FROM {values}")
    # the values new to the memo, materialized before the check so that it is called once a value
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_new AS SELECT v FROM {into}_values ANTI JOIN {known} USING (v)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into}_fresh AS SELECT v, {check}(v) AS ok FROM {into}_new")
    if scalar(con, f"SELECT count(*) FROM {into}_fresh"):
        folder.mkdir(parents=True, exist_ok=True)
        # a name of this writer's own (two steps may check values at once); written whole, then renamed
        write_parquet(
            con, f"SELECT v, ok FROM {into}_fresh ORDER BY v", folder / f"part-{mark}-{uuid.uuid4().hex}.parquet"
        )
        for stale in folder.parent.iterdir():  # the memo of an earlier version of the checks
            if stale.is_dir() and stale.name != folder.name:
                shutil.rmtree(stale, ignore_errors=True)
        if warehouse.recompute_all and not parts:  # a --full run's first file: the earlier runs' are replaced
            for earlier in folder.glob("part-*.parquet"):
                if not earlier.name.startswith(f"part-{mark}-"):
                    earlier.unlink(missing_ok=True)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {into} AS SELECT v FROM {into}_fresh WHERE NOT ok "
        f"UNION ALL SELECT v FROM {into}_values SEMI JOIN (SELECT v FROM {known} WHERE NOT ok) USING (v)"
    )
