"""Checks on a publication before it is switched in (blocking: a failure stops publication).

They read the staged publication folder, so a bureau never sees a publication that breaks them:
- ``column_contract``: each table's columns, in order, with the types of columns.yaml (SPEC section 4);
- ``money_is_decimal``: every money column is DECIMAL(18,2) (never a float);
- ``no_raw_person_id``: no text column holds a raw person id of the warehouse (persons appear only as
  person_key);
- ``province_equals_sum_of_regions`` (monthly_statistics): each province row's additive columns equal
  the sum of its regions' rows, every report month and category.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import dagster as dg
import yaml

from assets.reconciliation.assets import province_mismatches
from assets.resources import Warehouse
from assets.storage import ident, q, write_parquet
from assets.vocabulary import bilingual

MONEY = "DECIMAL(18,2)"
# columns holding an enumeration of the vocabulary (expectations/vocabulary.yaml `terms`)
ENUMERATIONS = {
    "component": "component",
    "kind": "discrepancy_kind",
    "reason": "reason",
    "status": "obligation_status",
    "trigger": "trigger",
    "classification": "classification",
    "basis": "basis",
    "category": "category",
    "repayment_notices.kind": "notice_kind",
    "unit_status.status": "unit_status",
    "risk_watch.flag": "risk_flag",
}
CHECKS = {
    "column_contract": "Columns, order and types as SPEC section 4 (assets/publication/columns.yaml). "
    "列名、顺序与类型符合数据规范。",
    "money_is_decimal": "Every money column is DECIMAL(18,2), never a float. 金额列为 DECIMAL(18,2)。",
    "no_raw_person_id": "No text column holds a raw person id (persons only as person_key). 不含身份证号。",
}
PROVINCE_CHECK = (
    "province_equals_sum_of_regions",
    "Each province row equals the sum of its regions (all but persons, counted distinct). 全省等于各统筹地区之和。",
)


@cache
def contract() -> dict[str, dict[str, tuple[str, str, str]]]:
    """table -> column -> (type, 中文说明, English description), in SPEC order."""
    raw = yaml.safe_load((Path(__file__).parent / "columns.yaml").read_text(encoding="utf-8"))
    return {table: {c: tuple(v) for c, v in columns.items()} for table, columns in raw.items()}


def column_description(table: str, column: str) -> str:
    _, zh, en = contract()[table][column]
    enum = ENUMERATIONS.get(f"{table}.{column}") or ENUMERATIONS.get(column)
    return f"{zh} / {en}" + (f". Values 取值: {bilingual(enum)}" if enum else "")


def check_specs(key_of) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(name, asset=key_of(t), description=d, blocking=True)
        for t in contract()
        for name, d in CHECKS.items()
    ]
    return [
        *specs,
        dg.AssetCheckSpec(
            PROVINCE_CHECK[0], asset=key_of("monthly_statistics"), description=PROVINCE_CHECK[1], blocking=True
        ),
    ]


def published_relation(folder: Path) -> str:
    """A published table folder (Hive-partitioned or not) as a query."""
    return f"SELECT * FROM read_parquet({q(folder / '**' / '*.parquet')}, hive_partitioning = true)"


# the shape of every accepted person id (expectations/contributions.json, employee_events.json): a published
# value of another shape cannot equal one
PERSON_ID_SHAPE = "[0-9]{17}[0-9X]"


def _person_ids(con, warehouse: Warehouse, staging: Path) -> None:
    """``raw_person_ids``: the warehouse's person ids that some published text cell holds. The published
    cells shaped like a person id are gathered first (a few codes of that shape, or none), and the clean
    person ids are probed for those: a scan of one column, not a DISTINCT over every row of a
    province's contributions. What a probe cleared is kept (``warehouse/person_id_probe/``: the values
    found in no file, and those files by name, size and time): a value cleared before is probed only
    against the files added or written since, so a new month's publication reads its new files."""
    shaped = [
        f"SELECT {ident(c)} AS v FROM ({published_relation(staging / table)}) "
        f"WHERE regexp_full_match({ident(c)}, {q(PERSON_ID_SHAPE)})"
        for table in contract()
        for c, kind in _columns(con, staging / table)
        if kind == "VARCHAR"
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE id_shaped AS SELECT DISTINCT v FROM "
        f"({' UNION ALL '.join(shaped) or 'SELECT NULL::VARCHAR AS v'}) WHERE v IS NOT NULL"
    )
    state = warehouse.root / "warehouse" / "person_id_probe"
    files = {
        str(f.relative_to(warehouse.root)): f"{f.stat().st_size} {f.stat().st_mtime_ns}"
        for t in ("contributions", "employee_events")
        for f in warehouse.clean_files(t)
    }
    try:
        before = {} if warehouse.recompute_all else json.loads((state / "files.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = {}
    cleared = f"read_parquet({q(state / 'cleared.parquet')})" if before else "(SELECT NULL::VARCHAR AS v LIMIT 0)"
    new = [f for f, identity in files.items() if before.get(f) != identity]
    probed = [
        f"SELECT person_id FROM read_parquet({q(warehouse.root / f)}) WHERE person_id IN (SELECT v FROM id_shaped)"
        for f in new
    ] + [
        f"SELECT person_id FROM read_parquet({q(warehouse.root / f)}) "
        f"WHERE person_id IN (SELECT v FROM id_shaped ANTI JOIN {cleared} USING (v))"
        for f in files
        if f not in new
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE raw_person_ids AS SELECT DISTINCT person_id FROM "
        f"({' UNION ALL '.join(probed) or 'SELECT NULL::VARCHAR AS person_id'}) WHERE person_id IS NOT NULL"
    )
    (state / "files.json").unlink(missing_ok=True)  # the values are written first, then what they hold of
    write_parquet(con, "SELECT v FROM id_shaped ANTI JOIN raw_person_ids ON v = person_id", state / "cleared.parquet")
    (state / "files.json").write_text(json.dumps(files, sort_keys=True), encoding="utf-8")


def _columns(con, folder: Path) -> list[tuple[str, str]]:
    """A published table's columns and their types."""
    rel = con.sql(published_relation(folder))
    return [(c, str(t).replace(" ", "")) for c, t in zip(rel.columns, rel.types)]


def check_publication(con, warehouse: Warehouse, staging: Path, key_of) -> list[dg.AssetCheckResult]:
    """Every check of every published table, on the staged folder."""
    _person_ids(con, warehouse, staging)
    results = []

    json = dg.MetadataValue.json

    def result(table: str, check: str, passed: bool, **metadata) -> None:
        results.append(dg.AssetCheckResult(asset_key=key_of(table), check_name=check, passed=passed, metadata=metadata))

    for table, columns in contract().items():
        got = _columns(con, staging / table)
        if "report_month" in columns:  # the Hive partition is read last; the contract puts it where SPEC does
            got = sorted(got, key=lambda ct: list(columns).index(ct[0]) if ct[0] in columns else len(columns))
        want = [(c, t) for c, (t, _, _) in columns.items()]
        result(
            table,
            "column_contract",
            got == want,
            expected=json([f"{c} {t}" for c, t in want]),
            found=json([f"{c} {t}" for c, t in got]),
        )
        money = [c for c, (t, _, _) in columns.items() if t == MONEY]
        not_decimal = [f"{c} {t}" for c, t in got if c in money and t != MONEY]
        result(table, "money_is_decimal", not not_decimal, money_columns=len(money), not_decimal=json(not_decimal))
        text = [c for c, t in got if t == "VARCHAR"]
        hits = {
            c: con.execute(
                f"SELECT count(*) FROM ({published_relation(staging / table)}) t SEMI JOIN raw_person_ids r "
                f"ON t.{c} = r.person_id"
            ).fetchall()[0][0]
            for c in text
        }
        hits = {c: n for c, n in hits.items() if n}
        result(table, "no_raw_person_id", not hits, text_columns_checked=len(text), columns_with_ids=json(hits))
    bad = province_mismatches(
        con, published_relation(staging / "monthly_statistics"), q(warehouse.policy_path("policy_regions"))
    )
    result(
        "monthly_statistics",
        PROVINCE_CHECK[0],
        not bad,
        count=len(bad),
        rows_differing=dg.MetadataValue.json([list(b) for b in bad[:20]]),
    )
    return results
