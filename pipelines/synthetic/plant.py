"""Bad rows the generator plants into each table's ``zz_corrections.csv``, and what it expects ingest
to find in them (``raw/manifest.json``): one rule per planted row, or a format rule and the diagnosis
that explains it (the export forms bureaus produce, ``EXPORT_FORMS``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb

from assets.identifiers import gb11714_check
from pipelines.synthetic.export_forms import plant_export_forms

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_with_check(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


def person_with_check(first17: str) -> str:
    from stdnum.cn import ric

    return first17 + ric.calc_check_digit(first17 + "0")


def wrong_check(person_id: str) -> str:
    """The id with a wrong check character."""
    return person_id[:-1] + ("0" if person_id[-1] != "0" else "1")


def check_digit_rules(person_id: str) -> str:
    """What ingest finds in an id with a wrong check character: one ending in 000 also looks like
    Excel's truncation to 15 significant digits (expectations/vocabulary.yaml excel_truncated)."""
    return "check_digit:person_id" + (";excel_truncated:person_id" if person_id.endswith("000") else "")


class Planter:
    """Bad and duplicate rows planted into each table's ``zz_corrections.csv``, counted per rule."""

    def __init__(self, con: duckdb.DuckDBPyConnection, k: int):
        self.con, self.k = con, k
        self.rows: dict[str, list[list[str]]] = {}
        self.raw_lines: dict[str, list[str]] = {}
        self.expected: dict[str, dict[str, int]] = {}
        self.duplicates: dict[str, int] = {}
        self._n = 0

    def fresh(self) -> int:
        self._n += 1
        return self._n

    def fresh_uscc(self) -> str:
        n = self.fresh()
        body = f"9134010079{n:06d}"
        return uscc_with_check(body + gb11714_check(body[8:16]))

    def fresh_person(self) -> str:
        n = self.fresh()
        return person_with_check(f"11010119{70 + n % 20:02d}0101{n % 1000:03d}")

    def sample(self, table_sql: str, n: int) -> list[dict[str, str]]:
        rel = self.con.sql(f"SELECT * FROM ({table_sql}) ORDER BY ALL LIMIT {n}")
        cols = rel.columns
        return [{c: ("" if v is None else str(v)) for c, v in zip(cols, row)} for row in rel.fetchall()]

    def bad(self, table: str, rule: str, row: dict[str, str], columns: list[str]) -> None:
        """A row breaking ``rule`` (several joined by ';': a format rule and the diagnosis that explains it)."""
        self.rows.setdefault(table, []).append([row.get(c, "") for c in columns])
        self.expected.setdefault(table, {})
        for one in rule.split(";"):
            self.expected[table][one] = self.expected[table].get(one, 0) + 1

    def duplicate(self, table: str, row: dict[str, str], columns: list[str]) -> None:
        self.rows.setdefault(table, []).append([row.get(c, "") for c in columns])
        self.duplicates[table] = self.duplicates.get(table, 0) + 1

    def field_count(self, table: str, line: str) -> None:
        self.raw_lines.setdefault(table, []).append(line)
        self.expected.setdefault(table, {})
        self.expected[table]["field_count:record"] = self.expected[table].get("field_count:record", 0) + 1


Changes = dict | Callable[["Planter", int], dict | None]


@dataclass
class Plan:
    """What is planted into one table each round: a bad row per case (``rule`` may be a function of
    the row), optionally a line with the wrong field count, and pairs of rows sharing a key; then
    ``k`` exact copies of generated rows (``repeat``: how a copy is re-typed, e.g. ``202209``).

    ``row`` makes a valid row from changes (fresh ids inside); a case's changes, when a function,
    are computed first. With ``one_row_per_round`` the round's cases change one shared row."""

    table: str
    row: Callable[..., dict]
    cases: list[tuple[str | Callable[[dict], str], Changes]]
    copies_sql: str
    # (rule, changes making the first row or None to skip, what the second row changes given the first)
    conflicts: list[tuple[str, Changes, dict | Callable[["Planter", dict], dict]]] = field(default_factory=list)
    field_count: Callable[[], str] | None = None
    repeat: Callable[[dict], dict] = lambda row: row
    one_row_per_round: bool = False


def _changes(change: Changes, p: "Planter", j: int) -> dict | None:
    return change(p, j) if callable(change) else change


def plant_bad_rows(p: Planter, columns: dict[str, list[str]]) -> None:
    every = plans(p)
    for plan in every:
        cols = columns[plan.table]
        for j in range(p.k):
            shared = plan.row() if plan.one_row_per_round else None
            for rule, change in plan.cases:
                changes = _changes(change, p, j)
                row = dict(shared, **changes) if shared is not None else plan.row(**changes)
                p.bad(plan.table, rule(row) if callable(rule) else rule, row, cols)
            if plan.field_count:
                p.field_count(plan.table, plan.field_count())
            for rule, first, second in plan.conflicts:
                base = _changes(first, p, j)
                if base is None:
                    continue
                a = plan.row(**base)
                p.bad(plan.table, rule, a, cols)
                p.bad(plan.table, rule, dict(a, **(second(p, a) if callable(second) else second)), cols)
        for row in p.sample(plan.copies_sql, p.k):
            p.duplicate(plan.table, plan.repeat(row), cols)
    makers = {plan.table: plan.row for plan in every}
    plant_export_forms(p, columns, makers["contributions"], makers["tax_payments"], makers["units"])


def _undash(column: str) -> Callable[[dict], dict]:
    """A copy as an export with YYYYMM periods would repeat it."""
    return lambda row: dict(row, **{column: row[column].replace("-", "")})


def _wrong_uscc(p: "Planter", _j: int) -> dict:
    good = p.fresh_uscc()
    return {"uscc": good[:-1] + USCC_ALPHABET[(USCC_ALPHABET.index(good[-1]) + 1) % 31]}


def _wrong_person(p: "Planter", _j: int) -> dict:
    return {"person_id": wrong_check(p.fresh_person())}


def _check_digit(row: dict) -> str:
    return check_digit_rules(row["person_id"])


def plans(p: Planter) -> list[Plan]:
    """Every table's plan, in planting order (the generated ids follow that order)."""
    unit_tpl = p.sample("SELECT * FROM units_gen WHERE unit_type = 'enterprise'", 1)[0]
    holder = p.sample("SELECT unit_id FROM units_final WHERE unit_type = 'public_institution'", 1)[0]["unit_id"]
    pay_tpl = p.sample("SELECT * FROM tax_payments_gen WHERE payment_kind = 'regular'", 1)[0]
    region = p.sample("SELECT region_code FROM regions", 1)[0]["region_code"]
    commit_tpl = p.sample(
        "SELECT unit_id, uscc FROM units_final WHERE behaviour = 'defer' AND unit_type = 'individual_business'", 1
    )[0]
    quiet = p.sample(
        "SELECT unit_id FROM units_final WHERE behaviour = 'defer' AND unit_type = 'public_institution'", p.k
    )

    def maker(template: Callable[[], dict]) -> Callable[..., dict]:
        return lambda **changes: {**template(), **changes}

    unit = maker(lambda: dict(unit_tpl, unit_id=f"UQ{p.fresh():06d}", uscc=p.fresh_uscc()))
    contribution = maker(
        lambda: {
            "unit_id": holder,
            "person_id": p.fresh_person(),
            "period": "2022-09",
            "contribution_base": "5000.00",
            "employer_medical": "350.00",
            "employee_medical": "100.00",
            "employer_maternity": "",
        }
    )
    reserve_month = lambda p, j: f"2020-{j % 12 + 1:02d}"  # noqa: E731
    return [
        Plan(
            "units",
            unit,
            [
                ("required:unit_name", {"unit_name": ""}),
                ("enum:unit_type", {"unit_type": "company"}),
                ("format:uscc;lowercase:uscc", lambda p, j: (lambda g: {"uscc": g[:9] + "a" + g[10:]})(p.fresh_uscc())),
                ("check_digit:uscc", _wrong_uscc),
                ("unknown_region:region_code", {"region_code": "340900"}),
                ("date:registered_on;date_format:registered_on", {"registered_on": "2022/08/01"}),
                ("calendar_date:registered_on", {"registered_on": "2022-02-30"}),
            ],
            "SELECT * FROM units_gen WHERE hash(unit_id) % 5 = 0",
            conflicts=[
                (
                    "duplicate_key:unit_id",
                    {},
                    lambda p, a: {"unit_name": a["unit_name"] + "分公司", "uscc": p.fresh_uscc()},
                ),
                ("duplicate_key:uscc", {}, lambda p, a: {"unit_id": f"UQ{p.fresh():06d}"}),
            ],
            field_count=lambda: ",".join(unit().values()) + ",extra",
        ),
        Plan(
            "contributions",
            contribution,
            [
                ("money:employer_medical", {"employer_medical": "-5"}),
                ("money:contribution_base;thousands_separator:contribution_base", {"contribution_base": "1,000"}),
                ("money:employee_medical;excel_scientific:employee_medical", {"employee_medical": "1e3"}),
                ("money:employer_maternity", {"employer_maternity": "5.123"}),
                ("period:period", {"period": "2022-13"}),
                ("required:person_id", {"person_id": ""}),
                (_check_digit, _wrong_person),
                ("format:person_id", {"person_id": "34010219800101"}),
                ("unknown_unit:unit_id", {"unit_id": "U9999999"}),
            ],
            "SELECT * FROM contributions_v WHERE period = '2022-09' AND hash(person_id) % 7 = 0",
            conflicts=[("duplicate_key:unit_id,person_id,period", {}, {"contribution_base": "5100.00"})],
            field_count=lambda: f"{holder},{p.fresh_person()},2022-09,5000.00,350.00",
            repeat=_undash("period"),
        ),
        Plan(
            "tax_payments",
            maker(lambda: dict(pay_tpl, payment_id=f"PQ{p.fresh():08d}")),
            [
                ("enum:component", {"component": "employer_pension"}),
                ("enum:payment_kind", {"payment_kind": "adjustment"}),
                ("date:paid_on;date_format:paid_on", {"paid_on": "2022-8-15"}),
                ("money:amount;thousands_separator:amount", {"amount": "1,000"}),
                ("check_digit:uscc", _wrong_uscc),
                ("required:paid_on", {"paid_on": ""}),
            ],
            "SELECT * FROM tax_payments_gen WHERE hash(payment_id) % 11 = 0",
            conflicts=[("duplicate_key:payment_id", {}, {"amount": "1.00"})],
        ),
        Plan(
            "tax_deferral_register",
            maker(
                lambda: {
                    "uscc": p.fresh_uscc(),
                    "period": "2022-08",
                    "component": "employer_medical",
                    "deferred_amount": "10.00",
                }
            ),
            [("money:deferred_amount", {"deferred_amount": "-5"}), ("period:period", {"period": "202213"})],
            "SELECT * FROM tax_deferral_register_gen",
            conflicts=[("duplicate_key:uscc,period,component", {"period": "2022-09"}, {"deferred_amount": "11.00"})],
        ),
        Plan(
            "fund_reserves",
            maker(
                lambda: {
                    "region_code": region,
                    "as_of_month": "2022-05",
                    "accumulated_balance": "100.00",
                    "avg_monthly_expenditure": "10.00",
                }
            ),
            [
                ("unknown_region:region_code", {"region_code": "349800"}),
                (
                    "not_positive:avg_monthly_expenditure",
                    lambda p, j: {"as_of_month": reserve_month(p, j), "avg_monthly_expenditure": "0"},
                ),
                (
                    "money:accumulated_balance",
                    lambda p, j: {"as_of_month": reserve_month(p, j), "accumulated_balance": "-1"},
                ),
                ("period:as_of_month", {"as_of_month": "2022-00"}),
            ],
            "SELECT * FROM fund_reserves_gen",
            conflicts=[
                (
                    "duplicate_key:region_code,as_of_month",
                    lambda p, j: {"as_of_month": f"{2010 + j // 12}-{j % 12 + 1:02d}"},
                    {"accumulated_balance": "200.00"},
                )
            ],
            repeat=_undash("as_of_month"),
        ),
        Plan(
            "sme_classifications",
            maker(
                lambda: {
                    "uscc": p.fresh_uscc(),
                    "as_of": "2022-03-31",
                    "size_class": "small",
                    "employees": "",
                    "operating_revenue": "",
                    "total_assets": "",
                    "industry_code": "C1301",
                    "source": "statistics",
                }
            ),
            [
                ("enum:size_class", {"size_class": "huge"}),
                ("integer:employees", {"employees": "12.5"}),
                ("money:operating_revenue", {"operating_revenue": "-3"}),
                ("date:as_of", {"as_of": "2022-13-01"}),
                ("enum:source", {"source": "survey"}),
            ],
            "SELECT * FROM sme_gen",
            conflicts=[("duplicate_key:uscc,as_of", {}, {"size_class": "micro"})],
        ),
        Plan(
            "commitments",
            maker(
                lambda: {
                    "commitment_id": f"CQ{p.fresh():06d}",
                    "unit_id": commit_tpl["unit_id"],
                    "uscc": commit_tpl["uscc"],
                    "declared_size_class": "small",
                    "declared_unit_type": "enterprise",
                    "requested_from": "2022-08",
                    "requested_to": "2022-10",
                    "signed_on": "2022-07-15",
                }
            ),
            [
                ("enum:declared_size_class", {"declared_size_class": "large"}),
                ("period:requested_from;date_format:requested_from", {"requested_from": "2022-8"}),
                ("unknown_unit:unit_id", {"unit_id": "U9999999"}),
                ("required:signed_on", {"signed_on": ""}),
            ],
            "SELECT * FROM commitments_gen",
            conflicts=[("duplicate_key:commitment_id", {}, {"requested_to": "2022-09"})],
        ),
        Plan(
            "elections",
            maker(lambda: {"unit_id": commit_tpl["unit_id"], "election": "opt_out", "filed_on": "2022-07-20"}),
            [
                ("enum:election", {"election": "defer"}),
                ("unknown_unit:unit_id", {"unit_id": "U9999999"}),
                ("date:filed_on;date_format:filed_on", {"filed_on": "20220720"}),
            ],
            "SELECT * FROM elections_gen",
            conflicts=[
                (
                    "duplicate_key:unit_id,election",  # only for units that file nothing else
                    lambda p, j: {"unit_id": quiet[j]["unit_id"]} if j < len(quiet) else None,
                    {"filed_on": "2022-07-21"},
                )
            ],
        ),
        Plan(
            "employee_events",
            maker(
                lambda: {
                    "unit_id": holder,
                    "person_id": p.fresh_person(),
                    "event_type": "departure",
                    "event_date": "2022-09-10",
                }
            ),
            [
                ("enum:event_type", {"event_type": "death"}),
                (_check_digit, _wrong_person),
                ("unknown_unit:unit_id", {"unit_id": "U9999999"}),
                ("calendar_date:event_date", {"event_date": "2022-02-30"}),
            ],
            "SELECT * FROM employee_events_gen",
            one_row_per_round=True,
        ),
    ]
