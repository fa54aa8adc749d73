"""The bureau report: Chinese headers, totals equal to monthly_statistics, a real PNG chart."""

import duckdb
import pytest
from openpyxl import load_workbook
from PIL import Image

from assets.publication.report import CATEGORY_SHEETS, HEADERS
from tests.test_obligations import build

MONEY = ["当月缓缴金额", "累计缓缴金额", "当月补缴金额", "累计补缴金额", "待补缴金额", "逾期金额", "滞纳金", "税务缓缴金额"]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    build(root).run(as_of="2022-12", publish=True, months=["2022-11", "2022-12"])  # publication writes the report
    return root


def test_workbook_headers_and_sheets(report):
    wb = load_workbook(report / "published" / "report" / "report_2022-12.xlsx")
    assert wb.sheetnames == [*CATEGORY_SHEETS.values(), "差异明细"]
    header = [c.value for c in wb["汇总"][1]]
    assert header == ["统筹地区", "缓缴单位数", "涉及参保职工数", "当月缓缴金额", "累计缓缴金额", "当月补缴金额", "累计补缴金额",
                      "待补缴金额", "逾期金额", "滞纳金", "税务缓缴单位数", "税务缓缴金额", "差异笔数", "核对一致"]
    assert header == list(HEADERS.values())


def test_workbook_totals_equal_monthly_statistics(report):
    wb = load_workbook(report / "published" / "report" / "report_2022-12.xlsx")
    rows = [dict(zip(HEADERS.values(), [c.value for c in r])) for r in wb["汇总"].iter_rows(min_row=2)]
    stats = duckdb.connect().sql(
        f"SELECT * FROM read_parquet('{report}/published/monthly_statistics/**/*.parquet', hive_partitioning = true) "
        "WHERE report_month = '2022-12' AND category = 'all'")
    expected = {r[0]: dict(zip(stats.columns, r)) for r in stats.fetchall()}
    totals = [r for r in rows if str(r["统筹地区"]).endswith("全省合计")]
    assert {t["统筹地区"] for t in totals} == {"340000 全省合计", "140000 全省合计"}
    for total in totals:
        code = total["统筹地区"].split()[0]
        regions = [r for r in rows if not str(r["统筹地区"]).endswith("全省合计") and str(r["统筹地区"]).startswith(code[:2])]
        for header in MONEY:
            column = next(k for k, v in HEADERS.items() if v == header)
            assert round(sum(float(r[header]) for r in regions), 2) == pytest.approx(float(total[header]))
            assert float(total[header]) == pytest.approx(float(expected[code][column]))
        assert total["核对一致"] == ("是" if expected[code]["reconciled"] else "否")


def test_chart_is_a_real_png(report):
    path = report / "published" / "report" / "deferral_by_region.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(path) as image:
        width, height = image.size
        assert width >= 1000 and height >= 300
        assert len(set(image.convert("RGB").resize((64, 20)).getdata())) > 10  # not a blank canvas
