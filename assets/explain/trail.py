"""A unit's trail as of a report month of the current publication (SPEC section 7, ``deferral explain``).

Everything comes from what the pipeline wrote: the report month's policy outputs of the unit's
province (warehouse/policy/<asset>/<month>/<policy_id>.parquet, the files the publication was
built from) and the accepted rows of the clean tables, which keep each row's raw file and line.
Nothing is computed again except the late fee's parts, shown as the arithmetic that sums to the
published fee. A person appears only as person_key. The shape is documented in docs/explain.md.
单位缓缴全过程说明：每个数字的来源文件与行号、所用政策参数及其条款。
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb

from assets.contracts import RAW_TABLES, clean_glob
from assets.identifiers import register_person_key
from assets.policy.thresholds import sme_thresholds
from assets.profiles import PolicyProfile
from assets.storage import matching, q, sql_statements

HERE = Path(__file__).parent
CORE_DIR = HERE.parent
LINES_SHOWN = 20  # the first raw lines listed per file for a period's assessments (the count is always given)
# the clean tables the trail reads, each cut to the unit by the column naming it
UNIT_CUTS = {
    "units": "unit_id",
    "sme_classifications": "uscc",
    "commitments": "unit_id",
    "elections": "unit_id",
    "tax_payments": "uscc",
    "employee_events": "unit_id",
    "fund_reserves": "region_code",
    "contributions": "unit_id",
}
# the report month's policy outputs, as the views trail.sql reads (view -> asset, cut column)
MONTH_OUTPUTS = {
    "decision": ("deferral_decisions", "unit_id"),
    "sme": ("sme_classification", "unit_id"),
    "region": ("region_eligibility", "region_code"),
    "ledger": ("deferral_ledger", "unit_id"),
    "schedule": ("repayment_schedule", "unit_id"),
    "allocations": ("repayment_allocations", "unit_id"),
    "status": ("unit_status", "unit_id"),
    "risk": ("risk_watch", "unit_id"),
}


class ExplainError(ValueError):
    """What the operator asked cannot be answered from the publication (one line, exit status 2)."""


def queries() -> dict[str, str]:
    """trail.sql's queries by name (``-- name: x`` before each)."""
    _, *chunks = (HERE / "trail.sql").read_text(encoding="utf-8").split("\n-- name: ")
    named = {}
    for chunk in chunks:
        name, sql = chunk.split("\n", 1)
        named[name.strip()] = sql.strip().removesuffix(";")
    return named


def published_months(published: Path) -> tuple[str, list[str]]:
    """The publication's name and the report months it holds (its per-month tables)."""
    manifest_path = published / "PUBLICATION.json"
    if not manifest_path.is_file():
        raise ExplainError(f"no publication in {published.parent}: run `deferral run` first")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    months = sorted({m for t in (manifest.get("tables") or {}).values() for m in t.get("months", {})})
    return published.resolve().name, months or [manifest["as_of_month"]]


def source(row: dict) -> dict:
    return {"file": row.pop("source_file"), "line": row.pop("source_line")}


def plain(value):
    """JSON-ready: money and quotients as exact text, dates ISO."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class Trail:
    """The connection and views one explanation reads."""

    def __init__(self, root: Path, profiles: list[PolicyProfile], pii_key: str):
        self.root, self.profiles = root, profiles
        self.con = duckdb.connect()
        self.queries = queries()
        register_person_key(self.con, pii_key)
        sme_thresholds(self.con)

    def rows(self, name: str, **params) -> list[dict]:
        for key, value in params.items():  # trail.sql reads them with getvariable()
            self.con.execute(f"SET VARIABLE {key} = ?", [value])
        rel = self.con.execute(self.queries[name])
        columns = [d[0] for d in rel.description]
        return [{c: plain(v) for c, v in zip(columns, r)} for r in rel.fetchall()]

    def clean(self, table: str, province: str) -> Path:
        """A table's accepted rows as ingest wrote them: the province's, else (a province without rows
        of its own) every province's."""
        own = clean_glob(self.root, table, province or None)
        return own if matching(own) else clean_glob(self.root, table)

    def find_unit(self, unit_id: str | None, uscc: str | None) -> dict:
        column, value = ("unit_id", unit_id) if unit_id else ("uscc", uscc)
        found = self.con.execute(
            f"SELECT unit_id, uscc, region_code FROM read_parquet({q(self.clean('units', ''))}) WHERE {column} = ?",
            [value],
        ).fetchall()
        if not found:
            raise ExplainError(f"no accepted unit with {column} {value} (quarantined rows are not explained)")
        return dict(zip(("unit_id", "uscc", "region_code"), found[0]))

    def cut(self, unit: dict, province: str, month: str) -> None:
        """The views of trail.sql: the clean tables cut to the unit and to what was known as of ``month``;
        the month's policy outputs of the province cut to the unit."""
        for statement in sql_statements(CORE_DIR / "as_of.sql", report_month=month):
            self.con.execute(statement)
        self.con.execute("CREATE SCHEMA IF NOT EXISTS clean")
        for table, column in UNIT_CUTS.items():
            self.con.execute(
                f"CREATE OR REPLACE VIEW clean.{table} AS SELECT * FROM read_parquet({q(self.clean(table, province))}) "
                f"WHERE {column} = {q(unit[column])}"
            )
            self.con.execute(f"CREATE OR REPLACE VIEW {table} AS {RAW_TABLES[table].known_sql()}")
        for view, (asset, column) in MONTH_OUTPUTS.items():
            path = self.root / "warehouse" / "policy" / asset / month / f"{province}.parquet"
            if not path.exists():
                raise ExplainError(f"{asset} of {province} as of {month} is not in the warehouse: run `deferral run`")
            self.con.execute(
                f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet({q(path)}) "
                f"WHERE {column} = {q(unit[column])}"
            )

    def one(self, view: str) -> dict | None:
        rel = self.con.sql(f"SELECT * FROM {view}")
        found = rel.fetchall()
        return {c: plain(v) for c, v in zip(rel.columns, found[0])} if found else None


def rule(profile: PolicyProfile, parameter: str, value) -> dict:
    """A rule step: the profile parameter it used, its value and the clause it cites."""
    return {
        "parameter": parameter,
        "value": plain(value),
        "clause": profile.clauses.get(parameter),
        "profile": profile.policy_id,
    }


def late_fee_parts(obligation: dict, payments: list[dict], rate: Decimal, as_of: dt.date) -> dict:
    """The late fee as its arithmetic (SPEC sections 3 and 5): each late-paid part × rate × days late, the
    outstanding × rate × days overdue; summed, rounded half-up to the fen once."""
    due = dt.date.fromisoformat(obligation["due_date"])
    parts = []
    for p in payments:
        days = (dt.date.fromisoformat(p["paid_on"]) - due).days
        if days > 0:
            parts.append({"on": "payment", "payment_id": p["payment_id"], "amount": p["allocated"], "days": days})
    overdue_days = (as_of - due).days
    if Decimal(obligation["outstanding_amount"]) > 0 and overdue_days > 0:
        parts.append({"on": "outstanding", "amount": obligation["outstanding_amount"], "days": overdue_days})
    for part in parts:
        part["fee"] = str(Decimal(part["amount"]) * rate * part["days"])
    total = sum((Decimal(p["fee"]) for p in parts), Decimal(0))
    return {
        "daily_rate": str(rate),
        "parts": parts,
        "sum": str(total),
        "rounded": str(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)),
    }
