"""Bad rows the generator plants into each table's ``zz_corrections.csv``, and what it expects ingest
to find in them (``raw/manifest.json``): one rule per planted row, or a format rule and the diagnosis
that explains it (issue 14's export forms, ``EXPORT_FORMS``)."""

from __future__ import annotations

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
    Excel's truncation to 15 significant digits (expectations/rules.yaml excel_truncated)."""
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
        return [
            {c: ("" if v is None else str(v)) for c, v in zip(cols, row)} for row in rel.fetchall()
        ]

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


def plant_bad_rows(p: Planter, columns: dict[str, list[str]]) -> None:
    k = p.k
    cols = columns["units"]
    tpl = p.sample("SELECT * FROM units_gen WHERE unit_type = 'enterprise'", 1)[0]

    def unit(**changes):
        row = dict(tpl, unit_id=f"UQ{p.fresh():06d}", uscc=p.fresh_uscc())
        row.update(changes)
        return row

    for _ in range(k):
        p.bad("units", "required:unit_name", unit(unit_name=""), cols)
        p.bad("units", "enum:unit_type", unit(unit_type="company"), cols)
        good = p.fresh_uscc()
        p.bad("units", "format:uscc;lowercase:uscc", unit(uscc=good[:9] + "a" + good[10:]), cols)
        good = p.fresh_uscc()
        wrong = USCC_ALPHABET[(USCC_ALPHABET.index(good[-1]) + 1) % 31]
        p.bad("units", "check_digit:uscc", unit(uscc=good[:-1] + wrong), cols)
        p.bad("units", "unknown_region:region_code", unit(region_code="340900"), cols)
        p.bad("units", "date:registered_on;date_format:registered_on", unit(registered_on="2022/08/01"), cols)
        p.bad("units", "calendar_date:registered_on", unit(registered_on="2022-02-30"), cols)
        p.field_count("units", ",".join(unit().values()) + ",extra")
        a = unit()
        p.bad("units", "duplicate_key:unit_id", a, cols)
        p.bad("units", "duplicate_key:unit_id", dict(a, unit_name=a["unit_name"] + "分公司", uscc=p.fresh_uscc()), cols)
        b = unit()
        p.bad("units", "duplicate_key:uscc", b, cols)
        p.bad("units", "duplicate_key:uscc", dict(b, unit_id=f"UQ{p.fresh():06d}"), cols)
    for row in p.sample("SELECT * FROM units_gen WHERE hash(unit_id) % 5 = 0", k):
        p.duplicate("units", row, cols)

    cols = columns["contributions"]
    holder = p.sample("SELECT unit_id FROM units_final WHERE unit_type = 'public_institution'", 1)[0]["unit_id"]

    def contribution(**changes):
        row = {"unit_id": holder, "person_id": p.fresh_person(), "period": "2022-09",
               "contribution_base": "5000.00", "employer_medical": "350.00",
               "employee_medical": "100.00", "employer_maternity": ""}
        row.update(changes)
        return row

    for _ in range(k):
        p.bad("contributions", "money:employer_medical", contribution(employer_medical="-5"), cols)
        p.bad("contributions", "money:contribution_base;thousands_separator:contribution_base",
              contribution(contribution_base="1,000"), cols)
        p.bad("contributions", "money:employee_medical;excel_scientific:employee_medical",
              contribution(employee_medical="1e3"), cols)
        p.bad("contributions", "money:employer_maternity", contribution(employer_maternity="5.123"), cols)
        p.bad("contributions", "period:period", contribution(period="2022-13"), cols)
        p.bad("contributions", "required:person_id", contribution(person_id=""), cols)
        bad_id = wrong_check(p.fresh_person())
        p.bad("contributions", check_digit_rules(bad_id), contribution(person_id=bad_id), cols)
        p.bad("contributions", "format:person_id", contribution(person_id="34010219800101"), cols)
        p.bad("contributions", "unknown_unit:unit_id", contribution(unit_id="U9999999"), cols)
        p.field_count("contributions", f"{holder},{p.fresh_person()},2022-09,5000.00,350.00")
        a = contribution()
        p.bad("contributions", "duplicate_key:unit_id,person_id,period", a, cols)
        p.bad("contributions", "duplicate_key:unit_id,person_id,period", dict(a, contribution_base="5100.00"), cols)
    for row in p.sample("SELECT * FROM contributions_v WHERE period = '2022-09' AND hash(person_id) % 7 = 0", k):
        p.duplicate("contributions", dict(row, period=row["period"].replace("-", "")), cols)

    cols = columns["tax_payments"]
    ptpl = p.sample("SELECT * FROM tax_payments_gen WHERE payment_kind = 'regular'", 1)[0]

    def payment(**changes):
        row = dict(ptpl, payment_id=f"PQ{p.fresh():08d}")
        row.update(changes)
        return row

    for _ in range(k):
        p.bad("tax_payments", "enum:component", payment(component="employer_pension"), cols)
        p.bad("tax_payments", "enum:payment_kind", payment(payment_kind="adjustment"), cols)
        p.bad("tax_payments", "date:paid_on;date_format:paid_on", payment(paid_on="2022-8-15"), cols)
        p.bad("tax_payments", "money:amount;thousands_separator:amount", payment(amount="1,000"), cols)
        good = p.fresh_uscc()
        p.bad("tax_payments", "check_digit:uscc",
              payment(uscc=good[:-1] + USCC_ALPHABET[(USCC_ALPHABET.index(good[-1]) + 1) % 31]), cols)
        p.bad("tax_payments", "required:paid_on", payment(paid_on=""), cols)
        a = payment()
        p.bad("tax_payments", "duplicate_key:payment_id", a, cols)
        p.bad("tax_payments", "duplicate_key:payment_id", dict(a, amount="1.00"), cols)
    for row in p.sample("SELECT * FROM tax_payments_gen WHERE hash(payment_id) % 11 = 0", k):
        p.duplicate("tax_payments", row, cols)

    cols = columns["tax_deferral_register"]
    for _ in range(k):
        p.bad("tax_deferral_register", "money:deferred_amount",
              {"uscc": p.fresh_uscc(), "period": "2022-08", "component": "employer_medical", "deferred_amount": "-5"}, cols)
        p.bad("tax_deferral_register", "period:period",
              {"uscc": p.fresh_uscc(), "period": "202213", "component": "employer_medical", "deferred_amount": "10.00"}, cols)
        a = {"uscc": p.fresh_uscc(), "period": "2022-09", "component": "employer_medical", "deferred_amount": "10.00"}
        p.bad("tax_deferral_register", "duplicate_key:uscc,period,component", a, cols)
        p.bad("tax_deferral_register", "duplicate_key:uscc,period,component", dict(a, deferred_amount="11.00"), cols)
    for row in p.sample("SELECT * FROM tax_deferral_register_gen", k):
        p.duplicate("tax_deferral_register", row, cols)

    cols = columns["fund_reserves"]
    region = p.sample("SELECT region_code FROM regions", 1)[0]["region_code"]
    for j in range(k):
        p.bad("fund_reserves", "unknown_region:region_code",
              {"region_code": "349800", "as_of_month": "2022-05", "accumulated_balance": "100.00", "avg_monthly_expenditure": "10.00"}, cols)
        p.bad("fund_reserves", "not_positive:avg_monthly_expenditure",
              {"region_code": region, "as_of_month": f"2020-{j % 12 + 1:02d}", "accumulated_balance": "100.00", "avg_monthly_expenditure": "0"}, cols)
        p.bad("fund_reserves", "money:accumulated_balance",
              {"region_code": region, "as_of_month": f"2020-{j % 12 + 1:02d}", "accumulated_balance": "-1", "avg_monthly_expenditure": "10.00"}, cols)
        p.bad("fund_reserves", "period:as_of_month",
              {"region_code": region, "as_of_month": "2022-00", "accumulated_balance": "100.00", "avg_monthly_expenditure": "10.00"}, cols)
        a = {"region_code": region, "as_of_month": f"{2010 + j // 12}-{j % 12 + 1:02d}", "accumulated_balance": "100.00", "avg_monthly_expenditure": "10.00"}
        p.bad("fund_reserves", "duplicate_key:region_code,as_of_month", a, cols)
        p.bad("fund_reserves", "duplicate_key:region_code,as_of_month", dict(a, accumulated_balance="200.00"), cols)
    for row in p.sample("SELECT * FROM fund_reserves_gen", k):
        p.duplicate("fund_reserves", dict(row, as_of_month=row["as_of_month"].replace("-", "")), cols)

    cols = columns["sme_classifications"]

    def sme(**changes):
        row = {"uscc": p.fresh_uscc(), "as_of": "2022-03-31", "size_class": "small", "employees": "",
               "operating_revenue": "", "total_assets": "", "industry_code": "C1301", "source": "statistics"}
        row.update(changes)
        return row

    for _ in range(k):
        p.bad("sme_classifications", "enum:size_class", sme(size_class="huge"), cols)
        p.bad("sme_classifications", "integer:employees", sme(employees="12.5"), cols)
        p.bad("sme_classifications", "money:operating_revenue", sme(operating_revenue="-3"), cols)
        p.bad("sme_classifications", "date:as_of", sme(as_of="2022-13-01"), cols)
        p.bad("sme_classifications", "enum:source", sme(source="survey"), cols)
        a = sme()
        p.bad("sme_classifications", "duplicate_key:uscc,as_of", a, cols)
        p.bad("sme_classifications", "duplicate_key:uscc,as_of", dict(a, size_class="micro"), cols)
    for row in p.sample("SELECT * FROM sme_gen", k):
        p.duplicate("sme_classifications", row, cols)

    cols = columns["commitments"]
    ctpl = p.sample("SELECT unit_id, uscc FROM units_final WHERE behaviour = 'defer' AND unit_type = 'individual_business'", 1)[0]

    def commitment(**changes):
        row = {"commitment_id": f"CQ{p.fresh():06d}", "unit_id": ctpl["unit_id"], "uscc": ctpl["uscc"],
               "declared_size_class": "small", "declared_unit_type": "enterprise",
               "requested_from": "2022-08", "requested_to": "2022-10", "signed_on": "2022-07-15"}
        row.update(changes)
        return row

    for _ in range(k):
        p.bad("commitments", "enum:declared_size_class", commitment(declared_size_class="large"), cols)
        p.bad("commitments", "period:requested_from;date_format:requested_from", commitment(requested_from="2022-8"), cols)
        p.bad("commitments", "unknown_unit:unit_id", commitment(unit_id="U9999999"), cols)
        p.bad("commitments", "required:signed_on", commitment(signed_on=""), cols)
        a = commitment()
        p.bad("commitments", "duplicate_key:commitment_id", a, cols)
        p.bad("commitments", "duplicate_key:commitment_id", dict(a, requested_to="2022-09"), cols)
    for row in p.sample("SELECT * FROM commitments_gen", k):
        p.duplicate("commitments", row, cols)

    cols = columns["elections"]
    quiet = p.sample(
        "SELECT unit_id FROM units_final WHERE behaviour = 'defer' AND unit_type = 'public_institution'", k)
    for j in range(k):
        p.bad("elections", "enum:election", {"unit_id": ctpl["unit_id"], "election": "defer", "filed_on": "2022-07-20"}, cols)
        p.bad("elections", "unknown_unit:unit_id", {"unit_id": "U9999999", "election": "opt_out", "filed_on": "2022-07-20"}, cols)
        p.bad("elections", "date:filed_on;date_format:filed_on",
              {"unit_id": ctpl["unit_id"], "election": "opt_out", "filed_on": "20220720"}, cols)
        unit_id = quiet[j % len(quiet)]["unit_id"] if j < len(quiet) else "U9999998"
        if j < len(quiet):
            a = {"unit_id": unit_id, "election": "opt_out", "filed_on": "2022-07-20"}
            p.bad("elections", "duplicate_key:unit_id,election", a, cols)
            p.bad("elections", "duplicate_key:unit_id,election", dict(a, filed_on="2022-07-21"), cols)
    for row in p.sample("SELECT * FROM elections_gen", k):
        p.duplicate("elections", row, cols)

    cols = columns["employee_events"]
    for _ in range(k):
        base = {"unit_id": holder, "person_id": p.fresh_person(), "event_type": "departure", "event_date": "2022-09-10"}
        p.bad("employee_events", "enum:event_type", dict(base, event_type="death"), cols)
        bad_id = wrong_check(p.fresh_person())
        p.bad("employee_events", check_digit_rules(bad_id), dict(base, person_id=bad_id), cols)
        p.bad("employee_events", "unknown_unit:unit_id", dict(base, unit_id="U9999999"), cols)
        p.bad("employee_events", "calendar_date:event_date", dict(base, event_date="2022-02-30"), cols)
    for row in p.sample("SELECT * FROM employee_events_gen", k):
        p.duplicate("employee_events", row, cols)
    plant_export_forms(p, columns, contribution, payment, unit)
