"""Each row rule of SPEC sections 2 and 5 with a passing and a failing hand-made row."""

import csv
import shutil
import string
from pathlib import Path

import duckdb
import pytest

from assets.contracts import RAW_TABLES
from assets.ingest.engine import ingest_table
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment
from tests.conftest import PERSON_A, USCC_A, write_table
from tests.worlds import UNIT

CONTRIBUTION = {
    "unit_id": "U1",
    "person_id": PERSON_A,
    "period": "2022-08",
    "contribution_base": "5000",
    "employer_medical": "350.00",
    "employee_medical": "100",
    "employer_maternity": "",
}
PAYMENT = {
    "payment_id": "P1",
    "uscc": USCC_A,
    "period": "2022-08",
    "component": "employer_medical",
    "amount": "350.00",
    "paid_on": "2022-09-15",
    "payment_kind": "regular",
}
RESERVE = {
    "region_code": "340100",
    "as_of_month": "2022-07",
    "accumulated_balance": "700.00",
    "avg_monthly_expenditure": "100.00",
}
SME = {
    "uscc": USCC_A,
    "as_of": "2022-03-31",
    "size_class": "",
    "employees": "12",
    "operating_revenue": "100.5",
    "total_assets": "",
    "industry_code": "C1301",
    "source": "statistics",
}
COMMITMENT = {
    "commitment_id": "C1",
    "unit_id": "U1",
    "uscc": USCC_A,
    "declared_size_class": "small",
    "declared_unit_type": "enterprise",
    "requested_from": "2022-08",
    "requested_to": "202210",
    "signed_on": "2022-07-15",
}
ELECTION = {"unit_id": "U1", "election": "opt_out", "filed_on": "2022-07-20"}
EVENT = {"unit_id": "U1", "person_id": PERSON_A, "event_type": "departure", "event_date": "2022-09-10"}
BASE = {
    "units": UNIT,
    "contributions": CONTRIBUTION,
    "tax_payments": PAYMENT,
    "fund_reserves": RESERVE,
    "sme_classifications": SME,
    "commitments": COMMITMENT,
    "elections": ELECTION,
    "employee_events": EVENT,
    "tax_deferral_register": {
        "uscc": USCC_A,
        "period": "2022-08",
        "component": "employer_medical",
        "deferred_amount": "350.00",
    },
}


@pytest.fixture(scope="module")
def units_ingested(tmp_path_factory) -> Path:
    """A data dir with UNIT ingested, which a table naming units starts from (:func:`run_ingest`)."""
    root = tmp_path_factory.mktemp("units")
    write_table(root, "units", [UNIT])
    warehouse = warehouse_resource(str(root), settings=settings_from_environment(gx_data_docs=0))
    with warehouse.connect() as con:
        assert ingest_table(con, warehouse, RAW_TABLES["units"])["accepted"] == 1
    return root


def run_ingest(warehouse, data_dir, table, rows, units_from: Path | None = None):
    """Ingests ``rows`` of ``table`` (first UNIT, for a table naming units); its counts and quarantine rules.
    ``units_from``: a data dir where UNIT was ingested (``units_ingested``), copied first, so the units'
    ingest here finds its file judged already and keeps it (each case would otherwise judge it again)."""
    if RAW_TABLES[table].references_unit:
        if units_from is not None and not (data_dir / "warehouse").exists():
            shutil.copytree(units_from / "raw" / "units", data_dir / "raw" / "units")
            shutil.copytree(units_from / "warehouse", data_dir / "warehouse")
        write_table(data_dir, "units", [UNIT])
        with warehouse.connect() as con:
            ingest_table(con, warehouse, RAW_TABLES["units"])
    write_table(data_dir, table, rows)
    with warehouse.connect() as con:
        counts = ingest_table(con, warehouse, RAW_TABLES[table])
    q = (
        duckdb.connect()
        .execute(f"SELECT rule FROM read_parquet('{warehouse.quarantine_dir(table)}/*.parquet')")
        .fetchall()
    )
    return counts, [r[0] for r in q]


def _cases() -> list[tuple[str, ...]]:
    """(table, column, good value, bad value, rule the bad value breaks), from tests/rule_cases.csv."""
    text = (Path(__file__).parent / "rule_cases.csv").read_text(encoding="utf-8")
    text = string.Template(text).substitute(PERSON_A=PERSON_A, USCC_A=USCC_A, USCC_A_LOWER=USCC_A.lower())
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return [(r["table"], r["column"], r["good"], r["bad"], r["rule"]) for r in rows]


CASES = _cases()


@pytest.mark.parametrize("table,column,good,bad,rule", CASES, ids=[f"{c[0]}-{c[4]}-{c[3]!r}" for c in CASES])
def test_rule_accepts_good_and_quarantines_bad(warehouse, data_dir, units_ingested, table, column, good, bad, rule):
    base = BASE[table]
    counts, rules = run_ingest(warehouse, data_dir, table, [dict(base, **{column: good})], units_ingested)
    assert (counts["accepted"], rules) == (1, [])

    key_change = {"payment_id": "P2"} if table == "tax_payments" else {}
    if table == "units":
        key_change = {"unit_id": "U2", "uscc": "92340100MA2N0X0X8T"} if column != "uscc" else {"unit_id": "U2"}
    counts, rules = run_ingest(warehouse, data_dir, table, [dict(base, **key_change, **{column: bad})], units_ingested)
    assert counts["accepted"] == 0
    assert rules == [rule]


def test_typed_values_after_normalisation(warehouse, data_dir):
    counts, _ = run_ingest(
        warehouse,
        data_dir,
        "contributions",
        [dict(CONTRIBUTION, period=" 202208 ", employer_medical=" 350.5", employer_maternity=" ")],
    )
    row = (
        duckdb.connect()
        .execute(
            f"SELECT period, employer_medical, typeof(employer_medical), employer_maternity "
            f"FROM read_parquet('{warehouse.clean_path('contributions')}')"
        )
        .fetchall()
    )
    assert row == [("2022-08", __import__("decimal").Decimal("350.50"), "DECIMAL(18,2)", None)]


def test_exact_duplicates_dropped_once_and_conflicts_all_quarantined(warehouse, data_dir):
    a = dict(CONTRIBUTION)
    a_again = dict(CONTRIBUTION, period="202208")  # equal after normalisation
    b = dict(CONTRIBUTION, person_id="11010519491231002X", period="2022-09")
    b_conflict = dict(b, employer_medical="351.00")
    counts, rules = run_ingest(warehouse, data_dir, "contributions", [a, a_again, b, b_conflict])
    assert (counts["rows_read"], counts["accepted"], counts["exact_duplicates"], counts["quarantined"]) == (4, 1, 1, 2)
    assert rules == ["duplicate_key:unit_id,person_id,period"] * 2


def test_unit_conflict_on_uscc(warehouse, data_dir):
    other = dict(UNIT, unit_id="U2", unit_name="另一家")
    write_table(data_dir, "units", [UNIT, other])
    with warehouse.connect() as con:
        counts = ingest_table(con, warehouse, RAW_TABLES["units"])
    assert (counts["accepted"], counts["quarantined"]) == (0, 2)
    assert counts["quarantine_by_rule"] == {"duplicate_key:uscc": 2}


def test_wrong_field_count_is_quarantined_with_its_line(warehouse, data_dir):
    path = write_table(data_dir, "elections", [ELECTION])
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("U1,opt_out\n")  # line 3: a field missing
        fh.write("U1,refund_first_period,2022-08-05\n")  # line 4
    write_table(data_dir, "units", [UNIT])
    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        counts = ingest_table(con, warehouse, RAW_TABLES["elections"])
    q = (
        duckdb.connect()
        .execute(
            f"SELECT source_file, source_line, rule, raw_values FROM "
            f"read_parquet('{warehouse.quarantine_dir('elections')}/*.parquet')"
        )
        .fetchall()
    )
    assert q == [("raw/elections/part.csv", 3, "field_count:record", '{"csv_line":"U1,opt_out"}')]
    lines = (
        duckdb.connect()
        .execute(f"SELECT election, source_line FROM read_parquet('{warehouse.clean_path('elections')}') ORDER BY 2")
        .fetchall()
    )
    assert lines == [("opt_out", 2), ("refund_first_period", 4)]
    assert counts["rows_read"] == 3


def test_quarantine_keeps_raw_values_and_source(warehouse, data_dir):
    counts, _ = run_ingest(
        warehouse, data_dir, "tax_payments", [PAYMENT, dict(PAYMENT, payment_id="P2", amount=" 1e3 ")]
    )
    q = (
        duckdb.connect()
        .execute(
            f"SELECT source_file, source_line, rule, raw_values::JSON->>'amount' FROM "
            f"read_parquet('{warehouse.quarantine_dir('tax_payments')}/*.parquet')"
        )
        .fetchall()
    )
    assert q == [("raw/tax_payments/part.csv", 3, "money:amount;excel_scientific:amount", " 1e3 ")]
    hint = (
        duckdb.connect()
        .execute(f"SELECT hint FROM read_parquet('{warehouse.quarantine_dir('tax_payments')}/*.parquet')")
        .fetchall()[0][0]
    )
    assert hint.startswith("amount：金额格式错误") and "科学计数法" in hint


def test_several_rules_joined(warehouse, data_dir):
    _, rules = run_ingest(warehouse, data_dir, "tax_payments", [dict(PAYMENT, component="x", amount="-1")])
    assert rules == ["enum:component;money:amount"]


def test_tax_rows_kept_whatever_their_uscc(warehouse, data_dir):
    # a valid uscc no unit has: kept, reconciliation reports it
    counts, rules = run_ingest(
        warehouse, data_dir, "tax_deferral_register", [dict(BASE["tax_deferral_register"], uscc="92340100MA2N0X0X8T")]
    )
    assert (counts["accepted"], rules) == (1, [])


def _ingest_parquet(warehouse, data_dir, table: str, select: str) -> tuple[dict, list[tuple], list[tuple]]:
    """Ingests ``select`` written as one Parquet file (its columns typed as the query types them);
    returns the counts, the quarantine (line, rule, raw cells) and the clean rows."""
    if RAW_TABLES[table].references_unit:
        write_table(data_dir, "units", [UNIT])
        with warehouse.connect() as con:
            ingest_table(con, warehouse, RAW_TABLES["units"])
    folder = data_dir / "raw" / table
    folder.mkdir(parents=True, exist_ok=True)
    duckdb.connect().execute(f"COPY ({select}) TO '{folder / 'part.parquet'}' (FORMAT parquet)")
    with warehouse.connect() as con:
        counts = ingest_table(con, warehouse, RAW_TABLES[table])
    con = duckdb.connect()
    quarantine = con.execute(
        f"SELECT source_line, rule, raw_values FROM read_parquet('{warehouse.quarantine_dir(table)}/*.parquet') "
        "ORDER BY source_line"
    ).fetchall()
    clean = con.execute(f"SELECT * EXCLUDE (source_file) FROM read_parquet('{warehouse.clean_path(table)}')").fetchall()
    return counts, quarantine, clean


def test_typed_parquet_money_judged_as_its_text(warehouse, data_dir):
    """A Parquet file holding amounts as DECIMAL (the bureaus' and the generator's form) is judged as
    its text would be: a negative amount breaks the money format, a missing one the required rule,
    and the quarantine shows the cells as text."""
    d = "::DECIMAL(18,2)"
    counts, quarantine, clean = _ingest_parquet(
        warehouse,
        data_dir,
        "contributions",
        f"SELECT * FROM (VALUES "
        f"('U1', '{PERSON_A}', '2022-08', 5000{d}, 350{d}, 100{d}, NULL{d}), "
        f"('U1', '{PERSON_A}', '2022-09', 5000{d}, -5{d}, 100{d}, 0{d}), "
        f"('U1', '{PERSON_A}', '2022-10', NULL{d}, 350.5{d}, 100{d}, 0{d})) "
        "t(unit_id, person_id, period, contribution_base, employer_medical, employee_medical, employer_maternity)",
    )
    assert (counts["accepted"], counts["quarantined"]) == (1, 2)
    raw = (
        f'{{"unit_id":"U1","person_id":"{PERSON_A}","period":"2022-09","contribution_base":"5000.00",'
        '"employer_medical":"-5.00","employee_medical":"100.00","employer_maternity":"0.00"}'
    )
    assert quarantine[0] == (2, "money:employer_medical", raw)
    assert quarantine[1][:2] == (3, "required:contribution_base")
    D = __import__("decimal").Decimal
    assert clean == [("U1", PERSON_A, "2022-08", D("5000.00"), D("350.00"), D("100.00"), None, 1)]


def test_typed_parquet_dates_and_positive_amounts(warehouse, data_dir):
    """A DATE column is well formed in years 1 to 9999 (its text is YYYY-MM-DD); an amount that must be
    positive is judged on its value; DECIMAL with three decimals is judged as its text, which has three."""
    rows = (
        "SELECT * FROM (VALUES "
        "('340100', '2022-07', 700::DECIMAL(18,2), 100::DECIMAL(18,2)), "
        "('340100', '2022-08', 700::DECIMAL(18,2), 0::DECIMAL(18,2))) "
        "t(region_code, as_of_month, accumulated_balance, avg_monthly_expenditure)"
    )
    counts, quarantine, _ = _ingest_parquet(warehouse, data_dir, "fund_reserves", rows)
    assert (counts["accepted"], [q[:2] for q in quarantine]) == (1, [(2, "not_positive:avg_monthly_expenditure")])

    payment = f"'{USCC_A}', '2022-08', 'employer_medical'"
    columns = "t(payment_id, uscc, period, component, amount, paid_on, payment_kind)"
    counts, quarantine, _ = _ingest_parquet(
        warehouse,
        data_dir,
        "tax_payments",
        "SELECT * FROM (VALUES "
        f"('P1', {payment}, 350::DECIMAL(18,2), DATE '2022-09-15', 'regular'), "
        f"('P2', {payment}, 350::DECIMAL(18,2), DATE '10000-01-01', 'regular')) {columns}",
    )
    assert counts["accepted"] == 1
    assert [(line, rule.split(";")[0]) for line, rule, _ in quarantine] == [(2, "date:paid_on")]
    assert '"paid_on":"10000-01-01"' in quarantine[0][2]
    # three decimals are one too many whatever the value: "350.000"
    counts, quarantine, _ = _ingest_parquet(
        warehouse,
        data_dir,
        "tax_payments",
        f"SELECT * FROM (VALUES ('P1', {payment}, 350::DECIMAL(18,3), DATE '2022-09-15', 'regular')) {columns}",
    )
    assert (counts["accepted"], [q[1] for q in quarantine]) == (0, ["money:amount"])


def test_which_parquet_columns_are_judged_typed():
    """Only a money column held as DECIMAL with at most two decimals that casts to DECIMAL(18,2), and a
    date column held as DATE, skip the text form; ids, periods and anything else are judged as text."""
    from assets.ingest.rules import typed_in_source

    contributions = {
        "unit_id": "VARCHAR",
        "person_id": "VARCHAR",
        "period": "VARCHAR",
        "contribution_base": "DECIMAL(18,2)",
        "employer_medical": "DECIMAL(12,1)",
        "employee_medical": "DECIMAL(18,3)",
        "employer_maternity": "DECIMAL(38,2)",
    }
    assert typed_in_source(RAW_TABLES["contributions"], contributions) == {"contribution_base", "employer_medical"}
    payments = {"payment_id": "VARCHAR", "amount": "DOUBLE", "paid_on": "DATE", "period": "DATE"}
    assert typed_in_source(RAW_TABLES["tax_payments"], payments) == {"paid_on"}


def _ingest_elections(warehouse, data_dir, c_rows: list[dict]) -> dict:
    """Elections in three files: a with a valid row and one of an unknown election, b a header alone,
    c with ``c_rows``."""
    write_table(data_dir, "units", [UNIT])
    write_table(data_dir, "elections", [ELECTION, dict(ELECTION, election="maybe")], name="a.csv")
    write_table(data_dir, "elections", [], name="b.csv")
    write_table(data_dir, "elections", c_rows, name="c.csv")
    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        return ingest_table(con, warehouse, RAW_TABLES["elections"])


def _outputs(warehouse) -> tuple:
    con = duckdb.connect()
    staged = warehouse.staged_dir("elections", None)
    judged = sorted(con.execute(f"SELECT * FROM read_parquet('{staged}/judged-*.parquet')").fetchall())
    units = sorted(con.execute(f"SELECT * FROM read_parquet('{staged}/units-*.parquet')").fetchall())
    clean = sorted(con.execute(f"SELECT * FROM read_parquet('{warehouse.clean_path('elections')}')").fetchall())
    return judged, units, clean, Path(warehouse.quarantine_path("elections", None)).read_bytes()


def test_small_files_judged_together_give_what_each_judged_alone_gives(warehouse, data_dir, tmp_path, monkeypatch):
    """A table exported month by month is many small files: they are judged in one statement, each
    to its own verdicts file (assets/ingest/judging.py); a file of a header alone among them has no
    rows and is judged on its own (its verdicts: an empty file). Each file's verdicts are its own: a
    changed file is judged again alone and the result is what judging every file alone gives."""
    from assets.ingest import judging
    from assets.resources import warehouse_resource
    from assets.settings import settings_from_environment

    sizes = []  # inputs of each judging statement
    judge_batch = judging._judge_batch

    def spy(con, table, regions, members):
        sizes.append(len(members))
        judge_batch(con, table, regions, members)

    monkeypatch.setattr(judging, "_judge_batch", spy)
    refund = dict(ELECTION, election="refund_first_period", filed_on="2022-08-01")
    counts = _ingest_elections(warehouse, data_dir, [ELECTION, dict(ELECTION, unit_id="U9"), refund])
    # read 5: a's valid row and c's refund election accepted, a's copy in c dropped, the unknown election
    # and the unknown unit quarantined
    assert (counts["rows_read"], counts["accepted"], counts["exact_duplicates"], counts["quarantined"]) == (5, 2, 1, 2)
    assert sizes == [1, 3, 1]  # units' file; the three elections files together, then b (no rows) alone
    staged = warehouse.staged_dir("elections", None)
    assert len(list(staged.glob("judged-*.parquet"))) == len(list(staged.glob("units-*.parquet"))) == 3
    assert not list(staged.glob("_*"))  # no working folder left

    sizes.clear()  # c corrected: its copy of a's row removed; only c is judged again
    counts = _ingest_elections(warehouse, data_dir, [dict(ELECTION, unit_id="U9"), refund])
    assert (counts["rows_read"], counts["accepted"], counts["exact_duplicates"], counts["quarantined"]) == (4, 2, 0, 2)
    assert sizes == [1]

    monkeypatch.setattr(judging, "SMALL_INPUT_BYTES", -1)  # every input judged alone, from scratch
    (tmp_path / "alone" / "raw").mkdir(parents=True)
    alone = warehouse_resource(str(tmp_path / "alone"), settings=settings_from_environment(gx_data_docs=0))
    sizes.clear()
    alone_counts = _ingest_elections(alone, tmp_path / "alone", [dict(ELECTION, unit_id="U9"), refund])
    assert sizes == [1, 1, 1, 1]
    keys = ["rows_read", "accepted", "exact_duplicates", "quarantined", "quarantine_by_rule"]
    assert [alone_counts[k] for k in keys] == [counts[k] for k in keys]
    assert _outputs(alone) == _outputs(warehouse)  # verdicts, units, accepted rows; the quarantine byte for byte


def test_which_formats_settle_a_raw_cell():
    """A format settles a raw cell that matches it when it matches only non-empty text of printable ASCII
    without the space: nothing to trim, no control character. Whether a match also bounds the length
    (MAX_CELL_CHARS) is the second half: an amount's digits are unbounded."""
    from assets.ingest.rules import _settling_width, settled_columns

    assert settled_columns(RAW_TABLES["contributions"]) == {
        "person_id": True,  # ^[0-9]{17}[0-9X]$
        "period": True,  # ^[0-9]{4}-?(0[1-9]|1[0-2])$
        "contribution_base": False,  # ^[0-9]+(\.[0-9]{1,2})?$: any number of digits
        "employer_medical": False,
        "employee_medical": False,
        "employer_maternity": False,
    }  # unit_id has no format: cleaned and checked on every row
    assert "contribution_base" not in settled_columns(RAW_TABLES["contributions"], frozenset({"contribution_base"}))
    assert _settling_width("^[0-9]{6}$") == 6
    for unsettling in ["^.*$", "^[0-9]*$", "^[^,]+$", "^[a-z ]+$", "^[！-～]+$", r"^\w+$", "("]:
        assert _settling_width(unsettling) is None, unsettling


def test_cells_settled_by_their_format_get_the_verdicts_every_cell_cleaned_gets(
    warehouse, data_dir, tmp_path, monkeypatch
):
    """The judging pass matches a settled column's raw cell against its format once and cleans and judges
    only the cells that do not match (assets/ingest/rules.py settled_columns). Cells at every edge of
    that shortcut get the verdicts SPEC section 5 gives them (by hand), and the same verdicts, accepted
    rows and quarantine, byte for byte, as cleaning and judging every cell."""
    from assets.ingest import rules

    rows = [
        dict(CONTRIBUTION, period=" 2022-08"),  # trimmed: accepted as 2022-08
        dict(CONTRIBUTION, period="2022-09\u3000"),  # ideographic space trimmed: accepted
        dict(CONTRIBUTION, period="2022-10", person_id=PERSON_A + "\x01"),
        dict(CONTRIBUTION, period="2022-11", employer_medical="1" * 1001),  # matches the money format, too long
        dict(CONTRIBUTION, period="2022-12", person_id="   "),  # blank: no person
        dict(CONTRIBUTION, period="2023-01", employee_medical="１００"),
        dict(CONTRIBUTION, period="2023-2"),
    ]

    def ingest(target, target_dir):
        run_ingest(target, target_dir, "contributions", rows)
        con = duckdb.connect()
        staged = target.staged_dir("contributions", "anhui-2022")
        judged = sorted(con.execute(f"SELECT * FROM read_parquet('{staged}/judged-*.parquet')").fetchall())
        clean = sorted(con.execute(f"SELECT * FROM read_parquet('{target.clean_path('contributions')}')").fetchall())
        quarantine = sorted(target.quarantine_dir("contributions").rglob("*.parquet"))
        return judged, clean, [p.read_bytes() for p in quarantine]

    settled = ingest(warehouse, data_dir)
    by_line = {line: rule for _, line, rule, *_ in settled[0]}
    assert (by_line[2], by_line[3]) == ("", "")
    assert by_line[4] == "format:person_id;control_character:person_id"
    assert by_line[5] == "too_long:employer_medical"
    assert by_line[6] == "required:person_id"
    assert by_line[7].startswith("money:employee_medical;fullwidth:employee_medical")
    assert by_line[8].startswith("period:period")
    assert sorted(r[2] for r in settled[1]) == ["2022-08", "2022-09"]

    monkeypatch.setattr(rules, "settled_columns", lambda table, typed=frozenset(): {})
    (tmp_path / "every_cell" / "raw").mkdir(parents=True)
    every_cell = warehouse_resource(str(tmp_path / "every_cell"), settings=settings_from_environment(gx_data_docs=0))
    assert ingest(every_cell, tmp_path / "every_cell") == settled
