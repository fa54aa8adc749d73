"""What the generator plants, table by table (:class:`Plan`), and the planting itself: each table's
bad rows (one rule each, or a format rule and its diagnosis), key conflicts, exact duplicates and
the export forms bureaus produce. 生成数据中的问题记录：逐表计划与写入。"""

from __future__ import annotations

from typing import Callable

from pipelines.synthetic.export_forms import plant_export_forms
from pipelines.synthetic.plant import USCC_ALPHABET, Plan, Planter, check_digit_rules, resolve_changes, wrong_check


def plant_bad_rows(p: Planter, columns: dict[str, list[str]]) -> None:
    every = plans(p)
    for plan in every:
        cols = columns[plan.table]
        for j in range(p.k):
            shared = plan.row() if plan.one_row_per_round else None
            for rule, change in plan.cases:
                changes = resolve_changes(change, p, j)
                row = dict(shared, **changes) if shared is not None else plan.row(**changes)
                p.bad(plan.table, rule(row) if callable(rule) else rule, row, cols)
            if plan.field_count:
                p.field_count(plan.table, plan.field_count())
            for rule, first, second in plan.conflicts:
                base = resolve_changes(first, p, j)
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
