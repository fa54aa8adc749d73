"""Invariants that must hold every report month, as asset checks declared in a stage's
``checks.yaml``: each names its asset, a ``<name>.check.sql`` beside it that selects the rows
breaking the invariant, and what those rows show. The SQL reads the month's tables by name (every
province's file of that month, and the tables that serve every month) and the month's macros of
``as_of.sql`` (``as_of_date()``, ``is_overdue``). A check passes when no month has such a row.
A month's rows are kept (``warehouse/invariants/<check>/<month>.json``) with the files they were
read from (name, size, time), the code and the profiles: a month none of them changed for is not
evaluated again (a new month evaluates that month; ``deferral run --full`` every month).
每个报告月都须成立的校验：SQL 列出违反的记录，无则通过。
"""

import json
from pathlib import Path

import dagster as dg
import pydantic
import yaml

from assets.resources import Warehouse
from assets.storage import matching, q, sql_statements
from assets.versions import code_digest, digest_of, profiles_digest

CORE_DIR = Path(__file__).parent


class InvariantSpec(pydantic.BaseModel):
    """One entry of a stage's ``checks.yaml``."""

    model_config = pydantic.ConfigDict(extra="forbid")
    asset: str
    description: str
    shows: str  # what each failing row holds, after its report month
    blocking: bool = True


def month_views(con, warehouse: Warehouse, month: str, reads: set[str]) -> list[Path]:
    """The as-of macros of ``month`` and a view per policy table in ``reads``: its files of that month
    (every province's), or the one file of a table that serves every month. Returns the files read."""
    for statement in sql_statements(CORE_DIR / "as_of.sql", report_month=month):
        con.execute(statement)
    folder = warehouse.root / "warehouse" / "policy"
    read = []
    for path in sorted(folder.glob("*.parquet")):
        if path.stem in reads:
            con.execute(f"CREATE OR REPLACE VIEW {path.stem} AS SELECT * FROM read_parquet({q(path)})")
            read.append(path)
    for table in sorted(p.parent.name for p in folder.glob(f"*/{month}")):
        if table in reads:
            files = warehouse.policy_path(table, month)
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({q(files)})")
            read += matching(files)
    return read


def rows_each_month(warehouse: Warehouse, name: str, asset: str, sql_file: Path) -> tuple[list[tuple], list[str]]:
    """(month, *row) as text for every row ``sql_file`` selects, over every report month of ``asset``, and
    the months evaluated now (the others' rows kept: see the module). Only the tables the SQL names get a
    view (DuckDB's parser lists them): each view reads its file's footer."""
    statements = sql_statements(sql_file)
    *setup, query = statements
    setup_key = [code_digest(), profiles_digest(warehouse.profiles())]
    out, evaluated = [], []
    with warehouse.connect() as con:
        reads: set[str] | None = None
        for month in warehouse.policy_months(asset):
            if reads is None:
                month_views(con, warehouse, month, set())  # the macros the statements call
                reads = {t for statement in statements for t in con.get_table_names(statement)}
            read = month_views(con, warehouse, month, reads)
            key = digest_of(setup_key + [_identity(warehouse, path) for path in read])
            kept = warehouse.kept_check_path(name, month)
            rows = None if warehouse.recompute_all else _kept_rows(kept, key)
            if rows is None:
                for statement in setup:
                    con.execute(statement)
                rows = [[month, *(str(v) for v in r)] for r in con.execute(query).fetchall()]
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_text(json.dumps({"key": key, "rows": rows}, ensure_ascii=False), encoding="utf-8")
                evaluated.append(month)
            out += [tuple(r) for r in rows]
    return out, evaluated


def _identity(warehouse: Warehouse, path: Path) -> str:
    stat = path.stat()
    return f"{path.relative_to(warehouse.root).as_posix()} {stat.st_size} {stat.st_mtime_ns}"


def _kept_rows(path: Path, key: str) -> list | None:
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return kept["rows"] if isinstance(kept, dict) and kept.get("key") == key else None


def invariant_check(name: str, spec: InvariantSpec, sql_file: Path) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey([spec.asset]), name=name, blocking=spec.blocking, description=spec.description)
    def _check(warehouse: Warehouse) -> dg.AssetCheckResult:
        bad, evaluated = rows_each_month(warehouse, name, spec.asset, sql_file)
        return dg.AssetCheckResult(
            passed=not bad,
            metadata={
                "months_checked": len(warehouse.policy_months(spec.asset)),
                "months_evaluated_now": dg.MetadataValue.json(evaluated),
                "rows_failing": len(bad),
                f"examples (month, {spec.shows})": dg.MetadataValue.json([list(r) for r in bad[:10]]),
            },
        )

    return _check


def invariant_checks(sql_dir: Path) -> list[dg.AssetChecksDefinition]:
    """The checks declared in ``<sql_dir>/checks.yaml``, each with its ``<name>.check.sql``."""
    declared = yaml.safe_load((sql_dir / "checks.yaml").read_text(encoding="utf-8"))
    return [invariant_check(n, InvariantSpec(**s), sql_dir / f"{n}.check.sql") for n, s in declared.items()]
