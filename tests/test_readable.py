"""What people read must add up (issue 25, SPEC section 7): the sample run once (``keyed_run``, a
real `deferral run`), read as a bureau, an auditor and an operator read it. Expected values are
computed here from the published Parquet and the quarantine, or written out from SPEC; none is
copied from the code.

The sample's planted facts used below: 太原市 (140100) has no fund reserve rows; 芜湖市 (340200)
has 6.0 months payable, which Anhui's strict threshold (more than 6) refuses; a money cell of
contributions (employee_medical) reads ``1e3`` and a person_id and a USCC were turned into
scientific notation by Excel.
"""

import calendar
import datetime as dt
import json
import re
import unicodedata
from decimal import Decimal
from html.parser import HTMLParser

import duckdb
import pytest
from openpyxl import load_workbook

# 报表 category sheets and the numeric columns a total row sums (headers as the bureau reads them)
CATEGORY_SHEETS = {
    "all": "汇总",
    "medium": "中型企业",
    "small": "小型企业",
    "micro": "微型企业",
    "individual_business": "个体工商户",
    "social_org": "社会组织",
}
NUMERIC = {
    "缓缴单位数": "units_deferring",
    "涉及参保职工数": "persons_covered",
    "当月缓缴金额": "deferred_amount",
    "累计缓缴金额": "cumulative_deferred",
    "当月补缴金额": "repaid_in_month",
    "累计补缴金额": "cumulative_repaid",
    "待补缴金额": "outstanding",
    "逾期金额": "overdue_outstanding",
    "滞纳金": "late_fee",
    "税务缓缴单位数": "tax_units_deferring",
    "税务缓缴金额": "tax_deferred_amount",
    "当期差异笔数": "discrepancies",
    "欠费单位数": "units_in_arrears",
    "风险预警单位数": "units_flagged",
}
PROVINCES = {"340000": "安徽省", "140000": "山西省"}


def _published(data, table: str) -> str:
    return f"read_parquet('{data}/published/{table}/**/*.parquet', hive_partitioning = true)"


def _rows(ws) -> list[dict]:
    header = [c.value for c in ws[3]]
    out = []
    for r in ws.iter_rows(min_row=4, values_only=True):
        if r[0] is None or all(v is None for v in r[1:]):  # the table ends at a note or the signature line
            break
        out.append(dict(zip(header, r)))
    return out


def _num(value) -> Decimal:
    """A cell as a number (openpyxl reads amounts as floats; empty as 0)."""
    return Decimal(str(value)) if value is not None else Decimal(0)


@pytest.fixture(scope="module")
def statistics(keyed_run):
    data, _ = keyed_run
    con = duckdb.connect()
    rel = con.sql(f"SELECT * FROM {_published(data, 'monthly_statistics')}")
    return {
        (r["report_month"], r["region_code"], r["category"]): r
        for r in (dict(zip(rel.columns, x)) for x in rel.fetchall())
    }


def test_every_total_row_of_every_sheet_is_the_sum_of_the_rows_above_it(keyed_run, statistics):
    data, _ = keyed_run
    books = sorted((data / "published" / "report").glob("*/*/report_*.xlsx"))
    assert len(books) == 12 + 13  # Anhui 2022-08..2023-07, Shanxi 2022-07..2023-07 (each from its first period)
    for book in books:
        province, month = book.parent.parent.name, book.parent.name
        wb = load_workbook(book)
        for category, sheet in CATEGORY_SHEETS.items():
            *above, total = _rows(wb[sheet])
            assert total["区划代码"] == province and total["统筹地区"] == f"{PROVINCES[province]}合计", (book, sheet)
            for header, column in NUMERIC.items():
                assert sum(_num(r[header]) for r in above) == _num(total[header]), (book.name, sheet, header)
                assert _num(total[header]) == statistics[(month, province, category)][column], (book.name, sheet)
            assert sum(_num(r["未结差异笔数"]) for r in above) == _num(total["未结差异笔数"]), (book.name, sheet)
            for r in above:  # each region's row is its Parquet row
                if r["区划代码"]:
                    row = statistics[(month, r["区划代码"], category)]
                    assert all(_num(r[h]) == row[c] for h, c in NUMERIC.items()), (book.name, sheet, r["区划代码"])


def test_open_discrepancies_of_units_unknown_to_health_have_their_own_row(keyed_run):
    data, _ = keyed_run
    con = duckdb.connect()
    # open as of 2023-07: the discrepancies of the publication's month whose unit_id is empty
    unknown = dict(
        con.execute(
            f"SELECT substr(uscc, 3, 2), count(*) FROM {_published(data, 'reconciliation_discrepancies')} "
            "WHERE unit_id IS NULL GROUP BY 1"
        ).fetchall()
    )
    assert unknown, "the sample plants discrepancies of units health does not know"
    for province in PROVINCES:
        rows = _rows(
            load_workbook(data / "published" / "report" / province / "2023-07" / f"report_{province}_2023-07.xlsx")[
                "汇总"
            ]
        )
        listed = [r for r in rows if r["统筹地区"] == "（未知统筹地区）"]
        expected = unknown.get(province[:2], 0)
        assert [r["未结差异笔数"] for r in listed] == ([expected] if expected else [])
        if listed:
            assert listed[0]["核对一致"] == "否" and all(listed[0][h] is None for h in NUMERIC)


def test_regions_that_may_not_defer_say_why(keyed_run):
    data, _ = keyed_run
    anhui = _rows(
        load_workbook(data / "published" / "report" / "340000" / "2023-07" / "report_340000_2023-07.xlsx")["汇总"]
    )
    shanxi = _rows(
        load_workbook(data / "published" / "report" / "140000" / "2023-07" / "report_140000_2023-07.xlsx")["汇总"]
    )
    notes = {r["统筹地区"]: r["说明"] for r in anhui + shanxi}
    assert notes["芜湖市"] == "不符合缓缴条件（可支付月数 6.0 ≤ 6）"
    assert notes["太原市"] == "无结存数据，不符合缓缴条件"
    assert notes["合肥市"] is None  # eligible: nothing to say


def _lines_needed(text: str, width: int) -> int:
    """Lines of ``text`` in a column ``width`` characters wide, a wide (CJK) character two."""
    usable = width - 2
    cells = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return -(-cells // usable)


def test_notes_rows_are_tall_enough_for_their_wrapped_text(keyed_run):
    data, _ = keyed_run
    ws = load_workbook(data / "published" / "report" / "340000" / "2023-07" / "report_340000_2023-07.xlsx")["口径说明"]
    width = ws.column_dimensions["B"].width
    checked = 0
    for row in ws.iter_rows(min_row=3):
        text = row[1].value
        if not text:
            continue
        height = ws.row_dimensions[row[1].row].height
        assert height is not None and height >= 15 * _lines_needed(text, int(width)), (row[0].value, height)
        checked += 1
    assert checked >= 8


def test_notice_lists_carry_the_city_bureau_and_real_dates(keyed_run):
    data, _ = keyed_run
    lists = sorted((data / "published" / "report").glob("*/2023-07/notices_*_2023-07.xlsx"))
    assert lists, "the sample has overdue units in 2023-07"
    names = {
        "140100": "太原市医疗保障局",
        "140200": "大同市医疗保障局",
        "140800": "运城市医疗保障局",
        "149900": "山西省医疗保障局（省本级）",
        "340100": "合肥市医疗保障局",
        "340200": "芜湖市医疗保障局",
        "341100": "滁州市医疗保障局",
        "349900": "安徽省医疗保障局（省直）",
    }
    for path in lists:
        region = path.stem.split("_")[1]
        ws = load_workbook(path)["催缴提醒"]
        assert ws["A2"].value == f"填报单位：{names[region]}"
        rows = _rows(ws)
        assert rows
        for r in rows:
            assert isinstance(r["最早到期日"], dt.datetime) and isinstance(r["截至日期"], dt.datetime)
            assert r["截至日期"].date() == dt.date(2023, 7, 31)
        cell = ws.cell(4, [c.value for c in ws[3]].index("最早到期日") + 1)
        assert cell.number_format == "yyyy-mm-dd"
    notes = load_workbook(data / "published" / "report" / "340000" / "2023-07" / "report_340000_2023-07.xlsx")
    policy = next(r[1].value for r in notes["口径说明"].iter_rows(min_row=3) if r[0].value == "政策依据")
    source = policy.split("。")[0]
    assert "皖医保秘〔2022〕67号" in source and not re.search(r"[A-Za-z]", source), policy


def test_monthly_statistics_say_their_level_name_and_policy(keyed_run, statistics):
    data, _ = keyed_run
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT DISTINCT region_code, level, region_name, policy_id FROM {_published(data, 'monthly_statistics')}"
    ).fetchall()
    by_code = {code: (level, name, policy) for code, level, name, policy in rows}
    assert by_code["340000"] == ("province", "安徽省", "anhui-2022")
    assert by_code["140000"] == ("province", "山西省", "shanxi-2022")
    assert by_code["340100"] == ("region", "合肥市", "anhui-2022")
    assert by_code["140800"] == ("region", "运城市", "shanxi-2022")
    assert {level for level, _, _ in by_code.values()} == {"province", "region"}
    # SPEC section 7: a province's figure is its level = province, category = all row; the region rows
    # of one category add up to it
    totals = con.execute(
        f"""SELECT r.report_month, r.policy_id, sum(r.cumulative_deferred), any_value(p.cumulative_deferred),
                   sum(r.units_deferring), any_value(p.units_deferring)
            FROM {_published(data, "monthly_statistics")} r JOIN {_published(data, "monthly_statistics")} p
              ON p.report_month = r.report_month AND p.policy_id = r.policy_id AND p.level = 'province'
             AND p.category = 'all'
            WHERE r.level = 'region' AND r.category = 'all' GROUP BY ALL"""
    ).fetchall()
    assert len(totals) == len({(m, r) for m, r, c in statistics if r in PROVINCES and c == "all"})
    assert all(s == p and su == pu for _, _, s, p, su, pu in totals)
    naive = con.execute(
        f"SELECT sum(cumulative_deferred) FROM {_published(data, 'monthly_statistics')} WHERE report_month = '2023-07'"
    ).fetchall()[0][0]
    right = con.execute(
        f"SELECT sum(cumulative_deferred) FROM {_published(data, 'monthly_statistics')} "
        "WHERE report_month = '2023-07' AND level = 'province' AND category = 'all'"
    ).fetchall()[0][0]
    ledger = con.execute(f"SELECT sum(deferred_amount) FROM {_published(data, 'deferral_ledger')}").fetchall()[0][0]
    assert right == ledger and naive > right  # the two provinces' totals are the ledger's whole deferral


def test_snapshots_carry_their_as_of_date_and_risk_watch_its_flag_count(keyed_run):
    data, _ = keyed_run
    con = duckdb.connect()
    month = json.loads((data / "published" / "PUBLICATION.json").read_text())["as_of_month"]
    year, mon = map(int, month.split("-"))
    last = dt.date(year, mon, calendar.monthrange(year, mon)[1])
    for table in (
        "fund_reserve_status",
        "deferral_decisions",
        "deferral_ledger",
        "repayment_schedule",
        "reconciliation_discrepancies",
    ):
        dates = con.execute(f"SELECT DISTINCT as_of_date FROM {_published(data, table)}").fetchall()
        assert dates == [(last,)], table
    # fund_reserve_status.as_of_month stays the month of the reserve data
    assert con.execute(
        f"SELECT count(*) FROM {_published(data, 'fund_reserve_status')} WHERE as_of_month = '{month}'"
    ).fetchall() == [(0,)]
    mismatched, flagged = con.execute(
        f"SELECT count(*) FILTER (WHERE flag_count <> flags OR flag_count IS NULL), count(*) "
        f"FROM {_published(data, 'risk_watch')}"
    ).fetchall()[0]
    assert flagged > 0 and mismatched == 0
    per_unit = con.execute(
        f"SELECT count(*) FROM (SELECT report_month, unit_id, count(*) AS n, any_value(flag_count) AS c "
        f"FROM {_published(data, 'risk_watch')} GROUP BY ALL) WHERE n <> c"
    ).fetchall()
    assert per_unit == [(0,)]  # flag_count is the unit's flags that month


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self._row, self._in_summary, self._cell = [], None, False, None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == "summary":
            self._in_summary = True
        elif self._in_summary and tag == "tr":
            self._row = []
        elif self._in_summary and tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_summary = False
        elif self._in_summary and tag in ("td", "th") and self._row is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif self._in_summary and tag == "tr" and self._row:
            self.rows.append(self._row)

    def handle_data(self, text):
        if self._cell is not None:
            self._cell += text


def test_validation_report_counts_rows_as_the_quarantine_does(keyed_run):
    data, _ = keyed_run
    con = duckdb.connect()
    parser = _Cells()
    parser.feed((data / "data_docs" / "validation_report.html").read_text(encoding="utf-8"))
    header, *body = parser.rows
    rows_at = next(i for i, h in enumerate(header) if "隔离行数" in h)
    shown = {r[0]: int(r[rows_at].replace(",", "")) for r in body}
    for table, n in shown.items():
        quarantined = con.execute(
            f"SELECT count(*) FROM read_parquet('{data}/quarantine/{table}/*.parquet')"
        ).fetchall()[0][0]
        assert n == quarantined, table
    assert shown["contributions"] == 24 and shown["units"] == 14 and shown["tax_payments"] == 15  # the issue's


def test_a_diagnosis_hint_fits_its_column(keyed_run):
    data, _ = keyed_run
    con = duckdb.connect()
    hints = dict(
        con.execute(
            f"SELECT rule, hint FROM read_parquet('{data}/quarantine/*/*.parquet', union_by_name = true) "
            "WHERE rule LIKE '%excel_scientific%'"
        ).fetchall()
    )
    money = hints["money:employee_medical;excel_scientific:employee_medical"]
    assert "金额" in money.split("科学计数法：")[-1] and "身份证号" not in money
    assert "身份证号或信用代码" in hints["format:person_id;excel_scientific:person_id"]


def test_an_operator_reads_a_short_console_that_ends_with_the_summary(keyed_run):
    _, result = keyed_run
    lines = (result.stdout + result.stderr).splitlines()
    assert len(lines) <= 60, "\n".join(lines)
    assert not [line for line in lines if "nanobind" in line or "leaked" in line]
    assert result.stdout.rstrip().splitlines()[-1].startswith("done in ")  # the summary ends the output
    run_id = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert not [line for line in lines if run_id.search(line)]
    steps = [re.search(r"\[\s*(\d+)/(\d+)\] (\S+)", line) for line in lines]
    steps = [(int(m[1]), int(m[2]), m[3]) for m in steps if m]
    assert any(step == "ingest__units" for *_, step in steps) and any(step == "publication" for *_, step in steps)
    for total in {n for _, n, _ in steps}:  # each job's steps count up to its number of steps
        assert sorted({k for k, n, _ in steps if n == total}) == list(range(1, total + 1))


def test_money_in_the_console_summary_is_the_parquets(keyed_run):
    data, result = keyed_run
    con = duckdb.connect()
    deferred = con.execute(f"SELECT sum(deferred_amount) FROM {_published(data, 'deferral_ledger')}").fetchall()[0][0]
    assert f"deferred {Decimal(deferred):,.2f}" in result.stdout
