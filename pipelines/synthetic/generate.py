"""Synthetic bureau data for both policy profiles, generated in DuckDB SQL.

``deferral generate --data-dir DIR --scale tiny|city|province --seed N`` writes the nine raw
tables of SPEC section 2 under ``DIR/raw/`` and ``DIR/raw/manifest.json``: what was planted
(bad rows per rule, duplicates, behaviours, discrepancies), so tests compare the pipeline's
counts against it. Bulk rows never leave DuckDB; Python only writes the few planted rows.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.identifiers import gb11714_check
from assets.storage import q, sql_statements
from pipelines.profiles import load_profiles

HERE = Path(__file__).parent
MACROS = HERE.parent.parent / "assets" / "policy" / "macros.sql"  # the engine's date macros, shared


@dataclass(frozen=True)
class Scale:
    n_units: int
    mean_headcount: float
    regions: tuple[str, ...] | None  # None: every region of every profile
    planted_per_kind: int
    parquet_bulk: bool  # write contributions and tax payments as Parquet only


SCALES = {
    "tiny": Scale(200, 12, ("340100", "340200", "341100", "349900", "140100", "140200", "140800", "149900"), 1, False),
    "city": Scale(20_000, 25, ("340100", "340200", "341100", "349900", "140100", "140200", "140800", "149900"), 5, False),
    "province": Scale(300_000, 26.7, None, 20, True),
}
# Reserve scenario per region: months payable before the first period (None = no reserve rows).
LOW_RESERVES = {"340200": 6.00, "140200": 5.20}
MISSING_RESERVES = {"140100"}
REGION_NAMES = {
    "3401": "合肥", "3402": "芜湖", "3403": "蚌埠", "3404": "淮南", "3405": "马鞍山", "3406": "淮北",
    "3407": "铜陵", "3408": "安庆", "3410": "黄山", "3411": "滁州", "3412": "阜阳", "3413": "宿州",
    "3415": "六安", "3416": "亳州", "3417": "池州", "3418": "宣城", "3499": "安徽省直",
    "1401": "太原", "1402": "大同", "1403": "阳泉", "1404": "长治", "1405": "晋城", "1406": "朔州",
    "1407": "晋中", "1408": "运城", "1409": "忻州", "1410": "临汾", "1411": "吕梁", "1499": "山西省本级",
}
# Indicator values well inside each size band of the 300号 table (employees, revenue and assets in 10,000 yuan).
INDICATOR_BANDS = [
    ("industry", "large", 1500, 50000, None), ("industry", "medium", 500, 5000, None),
    ("industry", "small", 50, 500, None), ("industry", "micro", 10, 100, None),
    ("retail", "large", 400, 30000, None), ("retail", "medium", 80, 1000, None),
    ("retail", "small", 20, 200, None), ("retail", "micro", 5, 50, None),
    ("construction", "large", None, 90000, 90000), ("construction", "medium", None, 7000, 6000),
    ("construction", "small", None, 500, 400), ("construction", "micro", None, 100, 100),
    ("software", "large", 400, 20000, None), ("software", "medium", 150, 2000, None),
    ("software", "small", 20, 100, None), ("software", "micro", 5, 20, None),
    ("other", "large", 400, None, None), ("other", "medium", 150, None, None),
    ("other", "small", 20, None, None), ("other", "micro", 5, None, None),
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def _setup_regions(con: duckdb.DuckDBPyConnection, scale: Scale, seed: int) -> None:
    profiles = load_profiles()
    rows, comps = [], []
    for p in profiles:
        for region in p.regions:
            if scale.regions is not None and region not in scale.regions:
                continue
            status = "missing" if region in MISSING_RESERVES else "low" if region in LOW_RESERVES else "ok"
            provincial = region.endswith("9900")
            rows.append((
                region, p.policy_id, REGION_NAMES.get(region[:4], region), p.first_period, status,
                LOW_RESERVES.get(region, 0.0), p.repayment_rule, p.repayment_fixed_date,
                0.4 if provincial else 1.0,
                [0.06, 0.065, 0.07, 0.075, 0.08][int(region) % 5],
                [0.005, 0.0075, 0.01][int(region) % 3] if "employer_maternity" in p.components else None,
            ))
            comps += [(region, c) for c in p.components]
    con.execute(
        """CREATE TABLE regions (region_code VARCHAR, policy_id VARCHAR, region_name VARCHAR,
        first_period VARCHAR, reserve_status VARCHAR, low_months DECIMAL(18, 2), due_rule VARCHAR,
        fixed_due DATE, weight DOUBLE, medical_rate DECIMAL(6, 4), maternity_rate DECIMAL(6, 4))"""
    )
    con.executemany("INSERT INTO regions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("CREATE TABLE region_components (region_code VARCHAR, component VARCHAR)")
    con.executemany("INSERT INTO region_components VALUES (?, ?)", comps)
    con.execute(
        "CREATE TABLE indicator_bands (category VARCHAR, size_class VARCHAR, employees BIGINT, revenue_wan BIGINT, assets_wan BIGINT)"
    )
    con.executemany("INSERT INTO indicator_bands VALUES (?, ?, ?, ?, ?)", INDICATOR_BANDS)


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


def _plant(p: Planter, columns: dict[str, list[str]]) -> None:
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
    _plant_export_forms(p, columns, contribution, payment, unit)


FULLWIDTH = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in "0123456789-.,ABCDEFGHIJKLMNOPQRSTUVWXYZ"})

# Issue 14: the forms bureau exports really contain, one planted row each (table, column, rule, value maker).
# A maker gets a fresh valid person id and uscc; every row breaks its column's rule and the diagnosis.
EXPORT_FORMS = [
    ("contributions", "employer_medical", "money;fullwidth", lambda pid, code: "３００.00"),
    ("contributions", "contribution_base", "money;fullwidth", lambda pid, code: "５，０００"),
    ("contributions", "period", "period;fullwidth", lambda pid, code: "２０２２-09"),
    ("contributions", "period", "period;date_format", lambda pid, code: "2022.09"),
    ("contributions", "period", "period;date_format", lambda pid, code: "2022年09月"),
    ("contributions", "period", "period;excel_serial_date", lambda pid, code: "44805"),
    ("contributions", "person_id", "format;fullwidth", lambda pid, code: pid.translate(FULLWIDTH)),
    ("contributions", "person_id", "format;excel_scientific", lambda pid, code: f"{int(pid[:17]) * 10:.5E}"),
    ("contributions", "person_id", "format;excel_float", lambda pid, code: pid[:17] + "0.0"),
    ("contributions", "person_id", "format;leading_apostrophe", lambda pid, code: "'" + pid),
    ("contributions", "person_id", "format;lowercase", lambda pid, code: pid[:17] + "x"),
    ("tax_payments", "paid_on", "date;date_format", lambda pid, code: "2022/9/1"),
    ("tax_payments", "paid_on", "date;date_format", lambda pid, code: "2022年9月1日"),
    ("tax_payments", "paid_on", "date;excel_serial_date", lambda pid, code: "44805"),
    ("tax_payments", "paid_on", "date;fullwidth", lambda pid, code: "2022－09－01"),
    ("tax_payments", "uscc", "format;lowercase", lambda pid, code: code[:17] + code[17].lower()),
    ("tax_payments", "uscc", "format;excluded_letter", lambda pid, code: code[:2] + "O" + code[3:]),
    ("tax_payments", "uscc", "format;excel_scientific", lambda pid, code: f"{int(code[:17]) * 10:.5E}"),
    ("units", "uscc", "format;fullwidth", lambda pid, code: code.translate(FULLWIDTH)),
    ("units", "uscc", "format;excluded_letter", lambda pid, code: code[:3] + "I" + code[4:]),
]


def _plant_export_forms(p: Planter, columns, contribution, payment, unit) -> None:
    makers = {"contributions": contribution, "tax_payments": payment, "units": unit}
    for table, column, rules, make in EXPORT_FORMS:
        value = make(p.fresh_person(), p.fresh_uscc())
        p.bad(table, ";".join(f"{r}:{column}" for r in rules.split(";")), makers[table](**{column: value}),
              columns[table])
    # Excel kept 15 significant digits and zeroed the rest: check character fails, the id ends in 000
    n = 0
    while True:
        n += 1
        truncated = f"3401021985{n:05d}" + "000"
        if person_with_check(truncated[:17]) != truncated:
            break
    p.bad("contributions", "check_digit:person_id;excel_truncated:person_id", contribution(person_id=truncated),
          columns["contributions"])


def _copy(con, query: str, path: Path, fmt: str = "csv") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    opts = "FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 500000" if fmt == "parquet" else "HEADER, DELIMITER ','"
    con.execute(f"COPY ({query}) TO {q(path)} ({opts})")


def _transcode(path: Path, encoding: str, bom: bool = False) -> None:
    """Rewrite a UTF-8 file in another encoding (streaming)."""
    tmp = path.with_suffix(".tmp")
    with open(path, encoding="utf-8", newline="") as src, open(tmp, "w", encoding=encoding, newline="") as dst:
        if bom:
            dst.write("\ufeff")
        shutil.copyfileobj(src, dst, 1 << 20)
    tmp.replace(path)


def generate(data_dir: str | Path, scale: str = "tiny", seed: int = 1) -> dict:
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    cfg = SCALES[scale]
    raw = Path(data_dir) / "raw"
    if raw.exists():
        shutil.rmtree(raw)
    raw.mkdir(parents=True)
    tmp_dir = Path(data_dir) / ".generate_tmp"
    con = duckdb.connect()
    con.execute("SET temp_directory = " + "'" + str(tmp_dir).replace("'", "''") + "'")
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET memory_limit = '{os.environ.get('DEFERRAL_DUCKDB_MEMORY', '8GB')}'")
    _setup_regions(con, cfg, seed)
    for statement in [*sql_statements(MACROS),
                      *sql_statements(HERE / "world.sql", seed=seed, n_units=cfg.n_units, mean_headcount=cfg.mean_headcount),
                      *sql_statements(HERE / "facts.sql", seed=seed, n_unknown_uscc=max(1, cfg.planted_per_kind))]:
        con.execute(statement)

    from assets.contracts import RAW_TABLES

    columns = {name: list(t.columns) for name, t in RAW_TABLES.items()}
    planter = Planter(con, cfg.planted_per_kind)
    _plant(planter, columns)

    rows_written: dict[str, int] = {}

    def out(table: str, query: str, name: str, fmt: str = "csv") -> None:
        order = ", ".join(columns[table])
        _copy(con, f"SELECT {order} FROM ({query}) ORDER BY {order}", raw / table / name, fmt)
        rows_written[table] = rows_written.get(table, 0) + con.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]

    # units: most in UTF-8 with a BOM, a fifth in GB18030 as some bureau systems export it
    out("units", "SELECT * FROM units_gen WHERE hash(unit_id) % 5 <> 0", "units_a.csv")
    _transcode(raw / "units" / "units_a.csv", "utf-8", bom=True)
    out("units", "SELECT * FROM units_gen WHERE hash(unit_id) % 5 = 0", "units_b_gb18030.csv")
    _transcode(raw / "units" / "units_b_gb18030.csv", "gb18030")

    anhui = "SELECT c.* FROM contributions_v c JOIN units_final u USING (unit_id) WHERE u.policy_id = 'anhui-2022'"
    shanxi = "SELECT c.* FROM contributions_v c JOIN units_final u USING (unit_id) WHERE u.policy_id <> 'anhui-2022'"
    if cfg.parquet_bulk:
        out("contributions", anhui, "contributions_anhui.parquet", "parquet")
        out("contributions", shanxi, "contributions_shanxi.parquet", "parquet")
        out("tax_payments", "SELECT * FROM tax_payments_gen", "tax_payments.parquet", "parquet")
    else:
        out("contributions", f"SELECT * FROM ({anhui}) WHERE period < '2023-01'", "contributions_anhui_2022.csv")
        # the 2023 file carries periods as YYYYMM, as some 核定 exports do
        out("contributions", f"SELECT * REPLACE (replace(period, '-', '') AS period) FROM ({anhui}) WHERE period >= '2023-01'",
            "contributions_anhui_2023.csv")
        out("contributions", shanxi, "contributions_shanxi.parquet", "parquet")
        out("tax_payments", "SELECT * FROM tax_payments_gen", "tax_payments.csv")
    out("tax_deferral_register", "SELECT * FROM tax_deferral_register_gen", "tax_deferral_register.csv")
    out("fund_reserves", "SELECT * FROM fund_reserves_gen", "fund_reserves.csv")
    out("sme_classifications", "SELECT * FROM sme_gen", "sme_classifications.csv")
    out("commitments", "SELECT * FROM commitments_gen", "commitments.csv")
    out("elections", "SELECT * FROM elections_gen", "elections.csv")
    out("employee_events", "SELECT * FROM employee_events_gen", "employee_events.csv")

    for table in columns:
        planted = planter.rows.get(table, [])
        lines = planter.raw_lines.get(table, [])
        if not planted and not lines:
            continue
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns[table])
        writer.writerows(planted)
        for line in lines:
            buf.write(line + "\n")
        (raw / table / "zz_corrections.csv").write_text(buf.getvalue(), encoding="utf-8")
        rows_written[table] += len(planted) + len(lines)

    manifest = {
        "scale": scale,
        "seed": seed,
        "tables": {
            table: {
                "rows": rows_written[table],
                "quarantined": dict(sorted(planter.expected.get(table, {}).items())),
                "exact_duplicates": planter.duplicates.get(table, 0),
            }
            for table in columns
        },
        "planted": _planted_summary(con),
    }
    (raw / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    con.close()
    shutil.rmtree(tmp_dir, ignore_errors=True)
    return manifest


def _planted_summary(con: duckdb.DuckDBPyConnection) -> dict:
    def counts(query: str) -> dict:
        return {str(k): int(v) for k, v in con.sql(query).fetchall()}

    return {
        "units_by_type": counts("SELECT unit_type, count(*) FROM units_final GROUP BY 1 ORDER BY 1"),
        "enterprise_classification_source": counts(
            "SELECT class_source, count(*) FROM units_final WHERE unit_type = 'enterprise' GROUP BY 1 ORDER BY 1"),
        "behaviour_of_deferring_units": counts(
            "SELECT behaviour, count(*) FROM units_final WHERE defers GROUP BY 1 ORDER BY 1"),
        "repayment_style_of_deferring_units": counts(
            "SELECT repay_style, count(*) FROM units_final WHERE defers GROUP BY 1 ORDER BY 1"),
        "units_deferring": con.execute("SELECT count(DISTINCT unit_id) FROM deferred").fetchall()[0][0],
        "persons": con.execute("SELECT count(*) FROM persons_final").fetchall()[0][0],
        "employee_events": counts("SELECT event_type, count(*) FROM persons_final WHERE event_type IS NOT NULL GROUP BY 1 ORDER BY 1"),
        "deregistered_units": con.execute("SELECT count(*) FROM units_final WHERE deregistered_on IS NOT NULL").fetchall()[0][0],
        "register_discrepancies": {
            "missing_in_tax": con.execute("SELECT count(*) FROM register_planted WHERE planted = 'missing_in_tax'").fetchall()[0][0],
            "amount_mismatch": con.execute("SELECT count(*) FROM register_planted WHERE planted = 'amount_mismatch'").fetchall()[0][0],
            "missing_in_health": con.execute(
                "SELECT count(*) FROM tax_deferral_register_gen t WHERE NOT EXISTS (SELECT 1 FROM deferred d WHERE d.uscc = t.uscc AND d.period = t.period AND d.component = t.component)").fetchall()[0][0],
        },
        "employee_share_unpaid": con.execute(
            "SELECT count(*) FROM arrears r JOIN assessed a USING (unit_id, period) WHERE a.component = 'employee_medical' AND a.amount > 0").fetchall()[0][0],
        "overpayments": con.execute("SELECT count(*) FROM overpaid").fetchall()[0][0],
        "warnings": {
            "uscc_inner_check": con.execute("SELECT count(*) FROM units_final WHERE bad_org_check").fetchall()[0][0],
            "unit_type_prefix": con.execute("SELECT count(*) FROM units_final WHERE unit_type = 'enterprise' AND uscc_prefix = '92'").fetchall()[0][0],
        },
        "reserve_regions": counts("SELECT reserve_status, count(*) FROM regions GROUP BY 1 ORDER BY 1"),
    }
