"""The input contract of SPEC section 2: what each raw table holds and how its rows are checked.

Per-row column rules (required, enumerations, formats) live in the Great Expectations suites
under ``expectations/``: ingest compiles every expectation to SQL and GX runs the same suite, so
the two cannot drift apart. What a GX column expectation cannot say stands here: keys, the check
characters (python-stdnum), calendar dates, references to accepted units and known regions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dagster as dg
import yaml

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"

# SQL type for each format rule named in a suite's ``meta.rule``; other columns stay VARCHAR.
RULE_TYPES = {"money": "DECIMAL(18,2)", "date": "DATE", "integer": "BIGINT", "period": "VARCHAR"}
VALUE_KINDS = ("format", *RULE_TYPES)  # the suite rules that say what form a column's values take


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    uscc_columns: tuple[str, ...] = ()
    person_columns: tuple[str, ...] = ()
    region_columns: tuple[str, ...] = ()
    references_unit: bool = False
    # ingested one province at a time, each province's accepted rows in their own file (needs
    # references_unit: a row's province is its unit's)
    by_province: bool = False
    positive_columns: tuple[str, ...] = ()
    # the column that dates each fact: a report month sees only rows dated on or before its last
    # day (a DATE) or in or before the month (a YYYY-MM period); empty: known from the start
    known_from: str = ""
    # dates of later facts about a row (a deregistration): NULL in report months before them
    later_facts: tuple[str, ...] = ()
    title: str = field(default="", compare=False)

    @property
    def suite(self) -> dict:
        return load_suite(self.name)

    def column_rules(self) -> list[tuple[str, str, dict]]:
        """(rule, column, expectation) for every expectation of the suite."""
        return [(e["meta"]["rule"], e["kwargs"]["column"], e) for e in self.suite["expectations"]]

    def column_type(self, column: str) -> str:
        for rule, col, _ in self.column_rules():
            if col == column and rule in RULE_TYPES:
                return RULE_TYPES[rule]
        return "VARCHAR"

    def known_sql(self) -> str:
        """A query of this table as known on the as-of date (the macros of ``as_of.sql``)."""
        bound = lambda col: "as_of_date()" if self.column_type(col) == "DATE" else "report_month()"  # noqa: E731
        unknown_yet = ", ".join(f"CASE WHEN {c} <= {bound(c)} THEN {c} END AS {c}" for c in self.later_facts)
        query = f"SELECT * {f'REPLACE ({unknown_yet}) ' if unknown_yet else ''}FROM clean.{self.name}"
        if self.known_from:
            col = self.known_from
            known = f"{col} <= {bound(col)}"
            query += f" WHERE {known}" if col in self.typed_columns("required") else f" WHERE coalesce({known}, TRUE)"
        return query

    def typed_columns(self, rule: str) -> list[str]:
        return [col for r, col, _ in self.column_rules() if r == rule]

    def value_kinds(self) -> dict[str, str]:
        """column -> the form its suite holds it to (format, money, period, date, integer): what a
        diagnosis's hint speaks of (an amount in scientific notation is not an id number)."""
        kinds: dict[str, str] = {}
        for rule, col, _ in self.column_rules():
            if rule in VALUE_KINDS:
                kinds.setdefault(col, rule)
        return kinds


@cache
def load_suite(name: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _load_tables() -> dict[str, RawTable]:
    """``contracts.yaml``: every raw table, its columns, keys and identifier columns, as data."""
    spec = yaml.safe_load((Path(__file__).parent / "contracts.yaml").read_text(encoding="utf-8"))
    tuples = lambda v: tuple(tuple(x) if isinstance(x, list) else x for x in v)  # noqa: E731
    return {
        name: RawTable(name, **{k: tuples(v) if isinstance(v, list) else v for k, v in fields.items()})
        for name, fields in spec.items()
    }


RAW_TABLES: dict[str, RawTable] = _load_tables()


def ingest_key(table: str) -> dg.AssetKey:
    """The asset that holds raw table ``table``'s accepted rows (``warehouse/clean/<table>.parquet``, or
    ``warehouse/clean/<table>/<province>.parquet`` for a table ingested by province)."""
    return dg.AssetKey(["ingest", table])


def clean_glob(root: Path, table: str, province: str | None = None) -> Path:
    """Where ingest writes a table's accepted rows under data dir ``root``, as a glob ``read_parquet``
    reads as one table: a file per input and one of the rows resolved across inputs
    (assets/ingest/resolve.py), in ``warehouse/clean/<table>/``; for a table ingested by province, in
    the province's ``warehouse/clean/<table>/<province>/`` (without ``province``: every province's)."""
    folder = root / "warehouse" / "clean" / table
    return (folder / (province or "*") if RAW_TABLES[table].by_province else folder) / "*.parquet"
