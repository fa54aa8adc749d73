"""The bureau report (月度报表): per report month an XLSX workbook with Chinese headers, and a PNG
chart of deferred, repaid and outstanding amounts by region, under ``published/report/``.

Statistics are a few hundred rows a month, so pandas and openpyxl are fine here.
"""

import os
import shutil
from decimal import Decimal

import dagster as dg
import duckdb
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font, PatternFill  # noqa: E402

from assets.publication import swap_in  # noqa: E402
from pipelines.resources import Warehouse  # noqa: E402

# monthly_statistics column -> 报表表头
HEADERS = {
    "region_code": "统筹地区",
    "units_deferring": "缓缴单位数",
    "persons_covered": "涉及参保职工数",
    "deferred_amount": "当月缓缴金额",
    "cumulative_deferred": "累计缓缴金额",
    "repaid_in_month": "当月补缴金额",
    "cumulative_repaid": "累计补缴金额",
    "outstanding": "待补缴金额",
    "overdue_outstanding": "逾期金额",
    "late_fee": "滞纳金",
    "tax_units_deferring": "税务缓缴单位数",
    "tax_deferred_amount": "税务缓缴金额",
    "discrepancies": "差异笔数",
    "reconciled": "核对一致",
}
CATEGORY_SHEETS = {"all": "汇总", "medium": "中型企业", "small": "小型企业", "micro": "微型企业",
                   "individual_business": "个体工商户", "social_org": "社会组织"}
DISCREPANCY_HEADERS = {"uscc": "统一社会信用代码", "unit_id": "单位编号", "region_code": "统筹地区", "period": "费款所属期",
                       "component": "险种", "kind": "差异类型", "health_amount": "医保金额", "tax_amount": "税务金额",
                       "difference": "差额"}
BOLD = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def _sheet(wb: Workbook, title: str, headers: dict[str, str], rows: list[dict], province_codes: set[str]) -> None:
    ws = wb.create_sheet(title)
    ws.append(list(headers.values()))
    for cell in ws[1]:
        cell.font, cell.fill = BOLD, HEADER_FILL
    for row in rows:
        values = []
        for key in headers:
            value = row[key]
            if key == "reconciled":
                value = "是" if value else "否"
            elif key == "region_code" and value in province_codes:
                value = f"{value} 全省合计"
            values.append(value)
        ws.append(values)
        if row.get("region_code") in province_codes:
            for cell in ws[ws.max_row]:
                cell.font = BOLD
    for column in ws.columns:
        for cell in column[1:]:
            if isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
        ws.column_dimensions[column[0].column_letter].width = max(12, len(str(column[0].value)) * 2 + 2)


def write_workbook(path, month: str, stats: list[dict], discrepancies: list[dict], province_codes: set[str]) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    for category, title in CATEGORY_SHEETS.items():
        rows = [r for r in stats if r["category"] == category]
        rows.sort(key=lambda r: (r["region_code"] in province_codes, r["region_code"]))
        _sheet(wb, title, HEADERS, rows, province_codes)
    _sheet(wb, "差异明细", DISCREPANCY_HEADERS, discrepancies, set())
    wb.properties.title = f"阶段性缓缴职工医保单位缴费统计表 {month}"
    wb.save(path)


def write_chart(path, series: list[dict]) -> None:
    """Cumulative deferred, cumulative repaid and outstanding per month, a line per region."""
    regions = sorted({r["region_code"] for r in series})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), sharex=True)
    for ax, (column, title) in zip(axes, [("cumulative_deferred", "Deferred (cumulative)"),
                                          ("cumulative_repaid", "Repaid (cumulative)"),
                                          ("outstanding", "Outstanding")]):
        for region in regions:
            points = sorted((r["report_month"], float(r[column])) for r in series if r["region_code"] == region)
            ax.plot([m for m, _ in points], [v / 10_000 for _, v in points], marker="o", markersize=3, label=region)
        ax.set_title(title)
        ax.set_ylabel("10,000 yuan")
        ax.tick_params(axis="x", rotation=60, labelsize=7)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, title="region")
    fig.suptitle("Phased deferral of employer medical contributions, by pooling region")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@dg.asset(
    key=dg.AssetKey(["published", "bureau_report"]),
    group_name="publication",
    kinds={"excel", "parquet"},
    deps=[dg.AssetKey(["published", "monthly_statistics"]), dg.AssetKey(["published", "reconciliation_discrepancies"])],
    owners=["team:data-engineering"],
)
def bureau_report(warehouse: Warehouse) -> dg.MaterializeResult:
    """Per report month an XLSX workbook for bureau staff (summary per region with the province total,
    a sheet per category, the discrepancies) and a PNG chart by region. 月度统计报表（Excel）与趋势图。"""
    published = warehouse.root / "published"
    con = duckdb.connect()
    stats_rel = con.sql(f"SELECT * FROM read_parquet('{published}/monthly_statistics/**/*.parquet', hive_partitioning = true)")
    stats = [dict(zip(stats_rel.columns, r)) for r in stats_rel.fetchall()]
    disc_rel = con.sql(f"SELECT * FROM read_parquet('{published}/reconciliation_discrepancies/*.parquet') ORDER BY period, kind, uscc")
    discrepancies = [dict(zip(disc_rel.columns, r)) for r in disc_rel.fetchall()]
    provinces = {p.province_code for p in warehouse.profiles()}
    final = published / "report"
    staging = final.with_name(f".report.{os.getpid()}.new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    months = sorted({r["report_month"] for r in stats})
    for month in months:
        write_workbook(staging / f"report_{month}.xlsx", month, [r for r in stats if r["report_month"] == month],
                       [d for d in discrepancies if d["period"] == month], provinces)
    write_chart(staging / "deferral_by_region.png",
                [r for r in stats if r["category"] == "all" and r["region_code"] not in provinces])
    swap_in(staging, final)
    return dg.MaterializeResult(metadata={
        "workbooks": len(months),
        "latest_workbook": dg.MetadataValue.path(str(final / f"report_{months[-1]}.xlsx")) if months else "",
        "chart": dg.MetadataValue.path(str(final / "deferral_by_region.png")),
    })
