"""The bureau report, opened as the bureau would: one workbook per province and month, print-ready,
in Chinese, with every discrepancy open as of the month. Expected values are the hand-computed
world of test_reconciliation_and_statistics (as of 2022-12):

Anhui's open discrepancies: A2 340100 2022-10 missing_in_tax 70.00 / - / 70.00; A1 340100 2022-11
missing_in_health - / 300.00 / -300.00; A3 349900 2022-08 overpayment 10.00 / 15.00 / -5.00; and a
USCC unknown to health (division 340100) 2022-08 missing_in_health - / 99.00 / -99.00. Shanxi's:
S1 140800 2022-07 maternity amount_mismatch 40.00 / 41.00 / -1.00; S1 2022-09 employee_share_unpaid.
"""

from decimal import Decimal

import pytest
from openpyxl import load_workbook
from PIL import Image

from assets.publication import chart
from assets.publication.report import write_report
from assets.resources import warehouse_resource
from tests.worlds import UNKNOWN

TITLE = "安徽省阶段性缓缴职工基本医疗保险单位缴费情况统计表（2022年12月）"
# the publication's own month (2022-12) also lists what changed since the previous publication (更正说明)
SHEETS = ["汇总", "中型企业", "小型企业", "微型企业", "个体工商户", "社会组织", "差异明细", "更正说明", "口径说明"]


@pytest.fixture
def world(statistics_published):
    root, _, codes = statistics_published
    return root, codes


def _book(root, province="340000", month="2022-12"):
    return load_workbook(root / "published" / "report" / province / month / f"report_{province}_{month}.xlsx")


def _table(ws):
    header = [c.value for c in ws[3]]
    rows = []
    for r in ws.iter_rows(min_row=4, values_only=True):
        if r[0] is None or str(r[0]).startswith(("制表人", "截至")):
            break
        rows.append(dict(zip(header, r)))
    return rows


def test_one_workbook_per_province_and_month(world):
    root, _ = world
    books = sorted(
        p.relative_to(root / "published" / "report").as_posix()
        for p in (root / "published" / "report").glob("*/*/report_*.xlsx")
    )
    anhui = [f"340000/{m}/report_340000_{m}.xlsx" for m in ("2022-08", "2022-09", "2022-10", "2022-11", "2022-12")]
    shanxi = [
        f"140000/{m}/report_140000_{m}.xlsx" for m in ("2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12")
    ]
    assert books == sorted(anhui + shanxi)  # each province from its own first period


def test_title_block_and_sheets(world):
    root, _ = world
    wb = _book(root)
    assert wb.sheetnames == SHEETS
    ws = wb["汇总"]
    assert ws["A1"].value == f"{TITLE}——汇总"
    info = [c.value for c in ws[2] if c.value]
    assert info == ["填报单位：安徽省医疗保障局", "数据截至：2022-12-31", "单位：元"]
    tail = [r[0] for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert (
        tail[-1].startswith("制表人：")
        and "审核人：" in tail[-1]
        and "负责人：" in tail[-1]
        and "制表日期：" in tail[-1]
    )
    assert _book(root, "140000")["汇总"]["A1"].value.startswith(
        "山西省阶段性缓缴职工基本医疗保险（含生育保险）单位缴费情况统计表（2022年12月）"
    )


def test_print_settings_fonts_and_formats(world):
    root, _ = world
    wb = _book(root)
    for name in SHEETS:
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)
        # one page wide (fitToWidth absent: 1, ECMA-376's default), as many pages long as it takes
        assert (
            ws.sheet_properties.pageSetUpPr.fitToPage
            and ws.page_setup.fitToWidth in (None, 1)
            and ws.page_setup.fitToHeight == 0
        )
        assert (
            ws.oddHeader.center.text == "&A" and "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        )
        assert ws.print_title_rows in ("$1:$3", "1:3", "$1:$2", "1:2")
        assert ws.freeze_panes is not None
        assert {c.font.name for row in ws.iter_rows() for c in row if c.value is not None} == {"宋体"}
    ws = wb["汇总"]
    assert ws.freeze_panes == "B4" and ws.auto_filter.ref.startswith("A3:S")  # 统筹地区 … 核对一致, 说明
    header = [c.value for c in ws[3]]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "合肥市")
    assert row[header.index("待补缴金额")].number_format == "#,##0.00"
    assert row[header.index("缓缴单位数")].number_format == "#,##0"
    # a column is wide enough for its longest text (a CJK character counts two)
    assert ws.column_dimensions["A"].width >= 2 * len("安徽省合计")


def test_region_names_and_open_discrepancies_agree(world):
    root, _ = world
    summary = {r["区划代码"]: r for r in _table(_book(root)["汇总"])}
    assert {code: r["统筹地区"] for code, r in summary.items()} == {
        "340100": "合肥市",
        "349900": "省直",
        None: "（未知统筹地区）",  # the unknown USCC's discrepancy: a row of its own, so the total adds up
        "340000": "安徽省合计",
    }
    assert {code: r["未结差异笔数"] for code, r in summary.items()} == {"340100": 2, "349900": 1, None: 1, "340000": 4}
    assert {code: r["核对一致"] for code, r in summary.items()} == {
        "340100": "否",
        "349900": "否",
        None: "否",
        "340000": "否",
    }
    small = {r["区划代码"]: r["未结差异笔数"] for r in _table(_book(root)["小型企业"])}
    assert small["340100"] == 1 and small["349900"] == 0 and small["340000"] == 1  # A1's only
    social = {r["区划代码"]: r["未结差异笔数"] for r in _table(_book(root)["社会组织"])}
    assert social["349900"] == 1 and social["340100"] == 0


def test_discrepancy_sheet_lists_every_open_one_in_chinese(world):
    root, codes = world
    rows = [tuple(r.values()) for r in _table(_book(root)["差异明细"])]
    assert rows == [
        ("合肥市", "单位A2", codes["A2"], "2022-10", "职工医保单位缴费", "税务未登记缓缴", 70, None, 70),
        ("合肥市", "单位A1", codes["A1"], "2022-11", "职工医保单位缴费", "医保无缓缴记录", None, 300, -300),
        ("省直", "单位A3", codes["A3"], "2022-08", "职工医保单位缴费", "多缴（补缴超出应补金额）", 10, 15, -5),
        (
            "（未知统筹地区）",
            "（医保无此单位）",
            UNKNOWN,
            "2022-08",
            "职工医保单位缴费",
            "医保无缓缴记录",
            None,
            99,
            -99,
        ),
    ]
    shanxi = [tuple(r.values()) for r in _table(_book(root, "140000")["差异明细"])]
    assert [(r[0], r[3], r[4], r[5], r[8]) for r in shanxi] == [
        ("运城市", "2022-07", "生育保险单位缴费", "金额不一致", -1),
        ("运城市", "2022-09", "职工医保个人缴费", "个人缴费部分未缴", 100),
    ]
    headers = [c.value for c in _book(root)["差异明细"][3]]
    assert headers == [
        "统筹地区",
        "单位名称",
        "统一社会信用代码",
        "所属期",
        "险种",
        "差异类型",
        "医保金额",
        "税务金额",
        "差额",
    ]


def test_earlier_month_lists_what_was_open_then(world):
    root, _ = world
    # as of 2022-08 only the unknown USCC's register row exists; A2's (period 2022-10), A1's (2022-11)
    # and A3's overpayment (paid 2022-10-10) are not known yet
    rows = _table(_book(root, "340000", "2022-08")["差异明细"])
    assert [(r["统一社会信用代码"], r["所属期"], r["差异类型"]) for r in rows] == [
        (UNKNOWN, "2022-08", "医保无缓缴记录")
    ]
    summary = {
        r["区划代码"]: (r["未结差异笔数"], r["核对一致"]) for r in _table(_book(root, "340000", "2022-08")["汇总"])
    }
    assert summary["340000"] == (1, "否") and summary["340100"] == (0, "是")


def test_an_empty_discrepancy_sheet_says_so(tmp_path):
    from datetime import datetime

    from assets.publication.province_report import DISCREPANCY_COLUMNS
    from assets.publication.workbook import TitleBlock, new_book, save, table_sheet

    wb = new_book()
    table_sheet(
        wb, "差异明细", TitleBlock("T", "U", "2022-08-31"), DISCREPANCY_COLUMNS, [], note="截至 2022-08-31 无未结差异。"
    )
    save(wb, tmp_path / "empty.xlsx", "T", datetime(2022, 8, 1))
    ws = load_workbook(tmp_path / "empty.xlsx")["差异明细"]
    assert [r[0] for r in ws.iter_rows(min_row=4, values_only=True) if r[0]][0] == "截至 2022-08-31 无未结差异。"


def test_rerun_writes_the_same_bytes_and_chart_falls_back(world, tmp_path, monkeypatch):
    root, _ = world
    import duckdb

    warehouse = warehouse_resource(str(root)).model_copy(update={"recompute_all": True})  # written, never kept
    published = (root / "published").resolve()
    with duckdb.connect() as con:
        first, _ = write_report(con, warehouse, published, tmp_path / "a", "2022-12")
        write_report(con, warehouse, published, tmp_path / "b", "2022-12")
    for path in first:
        twin = tmp_path / "b" / path.relative_to(tmp_path / "a")
        assert path.read_bytes() == twin.read_bytes()
        if path.name.startswith("report_"):
            png = path.with_name(path.name.replace("report_", "chart_").replace(".xlsx", ".png"))
            assert png.read_bytes() == twin.with_name(png.name).read_bytes()
    assert (published / "report" / "340000" / "2022-12" / "report_340000_2022-12.xlsx").read_bytes() == (
        tmp_path / "a" / "340000" / "2022-12" / "report_340000_2022-12.xlsx"
    ).read_bytes()
    monkeypatch.setattr(chart, "cjk_font", lambda: None)
    names = type("N", (), {"name": staticmethod(lambda code: code)})()
    assert (
        chart.write_chart(
            tmp_path / "plain.png",
            TITLE,
            [
                {
                    "report_month": "2022-12",
                    "region_code": "340100",
                    "cumulative_deferred": Decimal("1"),
                    "cumulative_repaid": Decimal("0"),
                    "outstanding": Decimal("1"),
                }
            ],
            names,
        )
        is False
    )


def test_chart_is_a_real_png_in_chinese_when_a_cjk_font_is_installed(world):
    root, _ = world
    path = root / "published" / "report" / "340000" / "2022-12" / "chart_340000_2022-12.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        width, height = image.size
        assert width >= 1000 and height >= 300
        assert len(set(image.convert("RGB").resize((64, 20)).getdata())) > 10  # not a blank canvas
    if chart.cjk_font() is None:
        pytest.skip("no CJK font on this machine: the chart is in English (CI installs fonts-wqy-zenhei)")
