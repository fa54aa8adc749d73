"""A month already filed changes (SPEC section 7): the statistics world (tests/worlds.py) published as
of 2022-12; then a tax repayment paid on 2022-11-20 arrives in a file of its own (A2, an individual
business in 340100, repays its 2022-09 obligation of 70.00, due 2022-11-30) and a corrected units
file renames A3; published again as of 2022-12.

By hand (SPEC sections 3 and 5), for Anhui, categories all and individual_business, 340100 and
the province 340000 (A3's 349900 adds 10.00 repaid, 20.00 outstanding and 0.32 of late fee to the
province's all: two obligations of 10.00, each 10.00 x 0.0005 x 31 = 0.155, rounded once to 0.16):
- 2022-11 (as of 11-30, nothing overdue yet): repaid_in_month and cumulative_repaid +70,
  outstanding -70;
- 2022-12 (as of 12-31): cumulative_repaid +70, outstanding and overdue_outstanding -70, and the
  obligation's late fee is gone: 70.00 x 0.0005 x 31 days = 1.085, rounded once to 1.09.
Old values: A1 repaid 300 on 09-05, 11-10 and 12-02 (the last 2 days late: 0.30); A2 owes 3 x 70
(each 1.09 late fee in December); A3 repaid 10 of 30 (two obligations of 10 outstanding, 0.16 each).
"""

import shutil
from decimal import Decimal

import duckdb
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from pipelines.cli import app
from tests.conftest import write_table
from tests.worlds import MONTHS

D = Decimal
RESTATED = {
    # (region, month, category, column): (previous, new)
    ("340100", "2022-11", "all", "repaid_in_month"): (D("300"), D("370")),
    ("340100", "2022-11", "all", "cumulative_repaid"): (D("600"), D("670")),
    ("340100", "2022-11", "all", "outstanding"): (D("510"), D("440")),
    ("340100", "2022-11", "individual_business", "repaid_in_month"): (D("0"), D("70")),
    ("340100", "2022-11", "individual_business", "cumulative_repaid"): (D("0"), D("70")),
    ("340100", "2022-11", "individual_business", "outstanding"): (D("210"), D("140")),
    ("340000", "2022-11", "all", "repaid_in_month"): (D("300"), D("370")),
    ("340000", "2022-11", "all", "cumulative_repaid"): (D("610"), D("680")),
    ("340000", "2022-11", "all", "outstanding"): (D("530"), D("460")),
    ("340000", "2022-11", "individual_business", "repaid_in_month"): (D("0"), D("70")),
    ("340000", "2022-11", "individual_business", "cumulative_repaid"): (D("0"), D("70")),
    ("340000", "2022-11", "individual_business", "outstanding"): (D("210"), D("140")),
    ("340100", "2022-12", "all", "cumulative_repaid"): (D("900"), D("970")),
    ("340100", "2022-12", "all", "outstanding"): (D("210"), D("140")),
    ("340100", "2022-12", "all", "overdue_outstanding"): (D("210"), D("140")),
    ("340100", "2022-12", "all", "late_fee"): (D("3.57"), D("2.48")),
    ("340100", "2022-12", "individual_business", "cumulative_repaid"): (D("0"), D("70")),
    ("340100", "2022-12", "individual_business", "outstanding"): (D("210"), D("140")),
    ("340100", "2022-12", "individual_business", "overdue_outstanding"): (D("210"), D("140")),
    ("340100", "2022-12", "individual_business", "late_fee"): (D("3.27"), D("2.18")),
    ("340000", "2022-12", "all", "cumulative_repaid"): (D("910"), D("980")),
    ("340000", "2022-12", "all", "outstanding"): (D("230"), D("160")),
    ("340000", "2022-12", "all", "overdue_outstanding"): (D("230"), D("160")),
    ("340000", "2022-12", "all", "late_fee"): (D("3.89"), D("2.80")),
    ("340000", "2022-12", "individual_business", "cumulative_repaid"): (D("0"), D("70")),
    ("340000", "2022-12", "individual_business", "outstanding"): (D("210"), D("140")),
    ("340000", "2022-12", "individual_business", "overdue_outstanding"): (D("210"), D("140")),
    ("340000", "2022-12", "individual_business", "late_fee"): (D("3.27"), D("2.18")),
}
HEADERS = {  # the workbook's names of the columns above
    "repaid_in_month": "当月补缴金额",
    "cumulative_repaid": "累计补缴金额",
    "outstanding": "待补缴金额",
    "overdue_outstanding": "逾期金额",
    "late_fee": "滞纳金",
}
CATEGORIES = {"all": "汇总", "individual_business": "个体工商户"}


@pytest.fixture(scope="module")
def restated(statistics_published, tmp_path_factory):
    """The statistics world as published (a copy of the session's, conftest.py), then a late repayment and a
    corrected unit name: run and published again."""
    source, out, codes = statistics_published
    root = tmp_path_factory.mktemp("restated")
    shutil.copytree(source, root, symlinks=True, dirs_exist_ok=True)
    world = out.scenario.copied_to(root)
    write_table(
        root,
        "tax_payments",
        [
            {
                "payment_id": "LATE1",
                "uscc": codes["A2"],
                "period": "2022-09",
                "component": "employer_medical",
                "amount": "70.00",
                "paid_on": "2022-11-20",
                "payment_kind": "repayment",
            }
        ],
        name="tax_payments_late_2022-11.csv",
    )
    next(u for u in world.tables["units"] if u["unit_id"] == "A3")["unit_name"] = "单位A3（更正）"  # raw/units/part.csv
    world.run(as_of="2022-12", months=MONTHS, publish=True)
    return root, codes, world


def _sheet_rows(ws) -> list[dict]:
    header = [c.value for c in ws[3]]
    rows = []
    for r in ws.iter_rows(min_row=4, values_only=True):
        if r[0] is None or all(v is None for v in r[1:]):
            break
        rows.append(dict(zip(header, r)))
    return rows


def test_the_new_workbook_lists_exactly_the_restated_figures(restated):
    root, *_ = restated
    ws = load_workbook(root / "published" / "report" / "340000" / "2022-12" / "report_340000_2022-12.xlsx")["更正说明"]
    got = {
        (r["区划代码"], r["报告月份"], r["统计分类"], r["项目"]): (Decimal(str(r["原报数"])), Decimal(str(r["更正后"])))
        for r in _sheet_rows(ws)
    }
    expected = {
        (region, month, CATEGORIES[category], HEADERS[column]): values
        for (region, month, category, column), values in RESTATED.items()
    }
    assert got == expected
    reasons = {r["原因"] for r in _sheet_rows(ws)}
    assert reasons == {"新增或变更的数据文件：raw/tax_payments/tax_payments_late_2022-11.csv、raw/units/part.csv"}
    shanxi = load_workbook(root / "published" / "report" / "140000" / "2022-12" / "report_140000_2022-12.xlsx")
    notes = [r[0] for r in shanxi["更正说明"].iter_rows(min_row=4, values_only=True) if r[0]]
    assert notes[0].startswith("无更正")


def test_diff_lists_the_changed_rows_with_old_and_new_values(restated):
    root, *_ = restated
    result = CliRunner().invoke(app, ["diff", "--data-dir", str(root), "--format", "csv"])
    assert result.exit_code == 0, result.output
    lines = [line.split(",") for line in result.output.splitlines()[1:]]
    by_table = {}
    for _, _, table, change, key, column, old, new in lines:
        by_table.setdefault(table, set()).add((change, key, column, old, new))
    assert by_table["deferral_decisions"] == {("changed", "unit_id=A3", "unit_name", "单位A3", "单位A3（更正）")}
    con = duckdb.connect()
    (obligation,) = con.execute(
        f"SELECT obligation_id FROM read_parquet('{root}/published/repayment_schedule/*.parquet') "
        "WHERE unit_id = 'A2' AND period = '2022-09'"
    ).fetchall()[0]
    assert by_table["repayment_schedule"] == {
        ("changed", f"obligation_id={obligation}", "repaid_amount", "0.00", "70.00"),
        ("changed", f"obligation_id={obligation}", "outstanding_amount", "70.00", "0.00"),
        ("changed", f"obligation_id={obligation}", "status", "overdue", "paid"),
        ("changed", f"obligation_id={obligation}", "late_fee", "1.09", "0.00"),
    }
    statistics = {}
    for _, key, column, old, new in by_table["monthly_statistics"]:
        k = dict(part.split("=") for part in key.split())
        statistics[(k["region_code"], k["report_month"], k["category"], column)] = (D(old), D(new))
    assert statistics == RESTATED
    # every other changed row is A2's or A3's (their notices, status, plan, ledger names)
    for table, changes in by_table.items():
        for change, key, *_ in changes:
            assert change == "changed" or table in ("repayment_notices", "risk_watch"), (table, change, key)
            if "unit_id=" in key:
                assert "unit_id=A2" in key or "unit_id=A3" in key, (table, key)


def test_a_rerun_without_changes_restates_nothing_and_diffs_empty(restated):
    root, _, world = restated
    world.run(as_of="2022-12", months=["2022-12"], publish=True)
    result = CliRunner().invoke(app, ["diff", "--data-dir", str(root)])
    assert result.exit_code == 0, result.output
    counts = [line for line in result.output.splitlines() if ":" in line and "added" in line]
    assert counts and all(line.endswith(": 0 added, 0 removed, 0 changed") for line in counts), result.output
    ws = load_workbook(root / "published" / "report" / "340000" / "2022-12" / "report_340000_2022-12.xlsx")["更正说明"]
    notes = [r[0] for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert notes[0].startswith("无更正")


def test_an_unknown_publication_is_one_line_and_exit_2(restated):
    root, *_ = restated
    result = CliRunner().invoke(app, ["diff", "--data-dir", str(root), "--from", "nope"])
    assert result.exit_code == 2 and "no publication nope" in result.output


def test_a_published_table_s_digest_holds_its_rows_whatever_their_order_or_files(tmp_path):
    # SPEC section 7: PUBLICATION.json's digest of a table is of its content, independent of row order and
    # file layout (per report month for a table published with every month); by hand: the same three rows
    # in one file or in two files in another order digest alike; a changed cell, a row more (even a copy of
    # one there) or a row less does not
    from assets.publication.diff import publication_digests

    con = duckdb.connect()
    rows = [("U1", "2022-07", D("10.00")), ("U2", "2022-08", D("20.50")), ("U3", "2022-07", D("0.01"))]

    def published(name: str, files: list[list[tuple]]) -> dict:
        folder = tmp_path / name
        for n, part in enumerate(files):
            (folder / "deferral_ledger").mkdir(parents=True, exist_ok=True)
            values = ", ".join(f"('{u}', '{p}', {a}::DECIMAL(18, 2))" for u, p, a in part)
            con.execute(
                f"COPY (SELECT * FROM (VALUES {values}) t(unit_id, period, deferred_amount)) "
                f"TO '{folder / 'deferral_ledger' / f'part-{n}.parquet'}' (FORMAT parquet)"
            )
            month = folder / "unit_status" / f"report_month={part[0][1]}"
            month.mkdir(parents=True, exist_ok=True)
            con.execute(
                f"COPY (SELECT * FROM (VALUES {values}) t(unit_id, period, deferred_amount)) "
                f"TO '{month / f'part-{n}.parquet'}' (FORMAT parquet)"
            )
        return publication_digests(con, folder)

    one = published("one", [rows])
    split = published("split", [[rows[2], rows[0]], [rows[1]]])
    assert one["deferral_ledger"] == split["deferral_ledger"] and one["deferral_ledger"]["rows"] == 3
    changed = published("changed", [[rows[0], rows[1], ("U3", "2022-07", D("0.02"))]])
    copied = published("copied", [[*rows, rows[0]]])
    fewer = published("fewer", [rows[:2]])
    digests = {d["deferral_ledger"]["digest"] for d in (one, changed, copied, fewer)}
    assert len(digests) == 4 and copied["deferral_ledger"]["rows"] == 4
    # by report month (a folder per month, as published): 2022-07 holds U1 and U3, 2022-08 U2
    months = published("months", [[rows[0], rows[2]], [rows[1]]])["unit_status"]["months"]
    again = published("again", [[rows[2], rows[0]], [rows[1]]])["unit_status"]["months"]
    assert months == again and sorted(months) == ["2022-07", "2022-08"] and months["2022-08"]["rows"] == 1
    assert months["2022-07"] != published("other", [[rows[0]], [rows[1]]])["unit_status"]["months"]["2022-07"]
