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

EXPECTATIONS_DIR = Path(__file__).resolve().parent.parent / "expectations"

# SQL type for each format rule named in a suite's ``meta.rule``; other columns stay VARCHAR.
RULE_TYPES = {"money": "DECIMAL(18,2)", "date": "DATE", "integer": "BIGINT", "period": "VARCHAR"}


@dataclass(frozen=True)
class RawTable:
    name: str
    columns: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...]
    uscc_columns: tuple[str, ...] = ()
    person_columns: tuple[str, ...] = ()
    region_columns: tuple[str, ...] = ()
    references_unit: bool = False
    positive_columns: tuple[str, ...] = ()
    title: str = field(default="", compare=False)

    @property
    def suite(self) -> dict:
        return load_suite(self.name)

    def column_rules(self) -> list[tuple[str, str, dict]]:
        """(rule, column, expectation) for every expectation of the suite."""
        return [
            (e["meta"]["rule"], e["kwargs"]["column"], e) for e in self.suite["expectations"]
        ]

    def column_type(self, column: str) -> str:
        for rule, col, _ in self.column_rules():
            if col == column and rule in RULE_TYPES:
                return RULE_TYPES[rule]
        return "VARCHAR"

    def typed_columns(self, rule: str) -> list[str]:
        return [col for r, col, _ in self.column_rules() if r == rule]


@cache
def load_suite(name: str) -> dict:
    return json.loads((EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))


RAW_TABLES: dict[str, RawTable] = {
    t.name: t
    for t in [
        RawTable(
            "units",
            ("unit_id", "uscc", "unit_name", "region_code", "unit_type", "industry_code",
             "registered_on", "deregistered_on"),
            keys=(("unit_id",), ("uscc",)),
            uscc_columns=("uscc",),
            region_columns=("region_code",),
            title="医保 参保单位 insured units",
        ),
        RawTable(
            "sme_classifications",
            ("uscc", "as_of", "size_class", "employees", "operating_revenue", "total_assets",
             "industry_code", "source"),
            keys=(("uscc", "as_of"),),
            uscc_columns=("uscc",),
            title="统计/市场监管 划型 SME classifications",
        ),
        RawTable(
            "fund_reserves",
            ("region_code", "as_of_month", "accumulated_balance", "avg_monthly_expenditure"),
            keys=(("region_code", "as_of_month"),),
            region_columns=("region_code",),
            positive_columns=("avg_monthly_expenditure",),
            title="统筹基金 fund reserves",
        ),
        RawTable(
            "contributions",
            ("unit_id", "person_id", "period", "contribution_base", "employer_medical",
             "employee_medical", "employer_maternity"),
            keys=(("unit_id", "person_id", "period"),),
            person_columns=("person_id",),
            references_unit=True,
            title="医保 核定 assessed contributions",
        ),
        RawTable(
            "tax_payments",
            ("payment_id", "uscc", "period", "component", "amount", "paid_on", "payment_kind"),
            keys=(("payment_id",),),
            uscc_columns=("uscc",),
            title="税务 征收 tax collections",
        ),
        RawTable(
            "tax_deferral_register",
            ("uscc", "period", "component", "deferred_amount"),
            keys=(("uscc", "period", "component"),),
            uscc_columns=("uscc",),
            title="税务 缓缴登记 tax deferral register",
        ),
        RawTable(
            "commitments",
            ("commitment_id", "unit_id", "uscc", "declared_size_class", "declared_unit_type",
             "requested_from", "requested_to", "signed_on"),
            keys=(("commitment_id",),),
            uscc_columns=("uscc",),
            references_unit=True,
            title="承诺书 commitments",
        ),
        RawTable(
            "elections",
            ("unit_id", "election", "filed_on"),
            keys=(("unit_id", "election"),),
            references_unit=True,
            title="单位选择 elections",
        ),
        RawTable(
            "employee_events",
            ("unit_id", "person_id", "event_type", "event_date"),
            keys=(("unit_id", "person_id", "event_type", "event_date"),),
            person_columns=("person_id",),
            references_unit=True,
            title="职工变动 employee events",
        ),
    ]
}
