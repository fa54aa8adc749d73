"""The bureau report (月度报表): per report month an XLSX workbook with Chinese headers, and a PNG
chart of deferred, repaid and outstanding amounts by region, under ``published/report/``.

Statistics are a few hundred rows a month, so pandas and openpyxl are fine here.
"""

import io
import re
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Font, PatternFill  # noqa: E402

from assets.storage import q  # noqa: E402

# fixed zip entry times: a rerun on the same inputs writes the same bytes
ZIP_TIME = (2022, 1, 1, 0, 0, 0)

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
    wb.properties.creator = "deferral pipeline"
    stamp = datetime(int(month[:4]), int(month[5:7]), 1)  # the report month, not the clock: reruns are identical
    wb.properties.created = stamp
    buffer = io.BytesIO()
    wb.save(buffer)  # openpyxl stamps `modified` with the clock here; _fixed_times puts the report month back
    Path(path).write_bytes(_fixed_times(buffer.getvalue(), stamp))


def _fixed_times(data: bytes, stamp: datetime) -> bytes:
    """The workbook's zip entry times and its `modified` property fixed, so reruns write the same bytes."""
    out = io.BytesIO()
    modified = f"<dcterms:modified xsi:type=\"dcterms:W3CDTF\">{stamp:%Y-%m-%dT%H:%M:%SZ}</dcterms:modified>".encode()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                body = re.sub(rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>", modified, body)
            info = zipfile.ZipInfo(item.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, body)
    return out.getvalue()


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


def write_report(con, tables: Path, target: Path, month: str, profiles) -> None:
    """The workbooks of every report month through ``month`` and the chart, from the publication's
    tables under ``tables`` (a publication being written), into ``target``."""
    stats_rel = con.sql(f"SELECT * FROM read_parquet({q(tables / 'monthly_statistics' / '**' / '*.parquet')}, "
                        "hive_partitioning = true)")
    stats = [dict(zip(stats_rel.columns, r)) for r in stats_rel.fetchall()]
    disc_rel = con.sql(f"SELECT * FROM read_parquet({q(tables / 'reconciliation_discrepancies' / '*.parquet')}) "
                       "ORDER BY period, kind, uscc")
    discrepancies = [dict(zip(disc_rel.columns, r)) for r in disc_rel.fetchall()]
    provinces = {p.province_code for p in profiles}
    target.mkdir(parents=True, exist_ok=True)
    for m in sorted({r["report_month"] for r in stats}):
        write_workbook(target / f"report_{m}.xlsx", m, [r for r in stats if r["report_month"] == m],
                       [d for d in discrepancies if d["period"] == m], provinces)
    write_chart(target / "deferral_by_region.png",
                [r for r in stats if r["category"] == "all" and r["region_code"] not in provinces])
