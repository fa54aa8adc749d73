"""One province's workbook and chart of one report month (月度报表): what the publication's worker
processes run, so this module imports no Dagster (each spawned worker imports it; see
``assets/publication/report.py`` for the report as a whole).

Each workbook: a sheet per category (汇总, 中型企业 …) with region names and the province total, a
差异明细 sheet listing every discrepancy open as of the month, 更正说明 in the publication's own
month (SPEC section 7, ``assets/publication/restatements.py``), and a 口径说明 sheet.
一个省份一个报告月份的报表与图表（发布步骤的子进程执行）。
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.months import first_moment, label, last_day
from assets.profiles import PolicyProfile, RegionNames, region_names
from assets.publication.chart import write_chart
from assets.publication.statistics_sheet import (
    CATEGORIES,
    STAT_COLUMNS,
    STAT_SHEET_COLUMNS,
    UNKNOWN_REGION,
    eligibility_notes,
    open_counts,
    stat_rows,
)
from assets.publication.workbook import Column, TitleBlock, new_book, save, table_sheet, text_sheet
from assets.storage import q, sql_statements
from assets.vocabulary import term

HERE = Path(__file__).parent
MACROS = HERE.parent / "macros.sql"

DISCREPANCY_COLUMNS = [
    Column("统筹地区"),
    Column("单位名称"),
    Column("统一社会信用代码"),
    Column("所属期"),
    Column("险种"),
    Column("差异类型"),
    Column("医保金额", "money"),
    Column("税务金额", "money"),
    Column("差额", "money"),
]
DISCREPANCY_SHEET = "差异明细"
NOTES_SHEET = "口径说明"


def report_title(profile: PolicyProfile, month: str) -> str:
    """安徽省阶段性缓缴职工基本医疗保险单位缴费情况统计表（2022年8月）"""
    return f"{profile.name}情况统计表（{label(month)}）"


def workbook_path(target: Path, province_code: str, month: str) -> Path:
    return target / province_code / month / f"report_{province_code}_{month}.xlsx"


def _notes(profile: PolicyProfile, month: str) -> list[tuple[str, str]]:
    return [
        (
            "报表口径",
            f"本表反映截至 {last_day(month)}（报告月末日）已知的数据：所属期不晚于报告月的核定与缓缴登记、"
            "缴费日期不晚于该日的税务征收、签署日期不晚于该日的承诺书与申请；其后补录的数据不改变本表。",
        ),
        ("政策依据", f"{profile.source}。各参数及其条款见政策配置 {profile.policy_id}。"),
        ("金额单位", "元，保留两位小数（四舍五入至分，仅在政策规定处舍入）。"),
        (
            "统计分类",
            "汇总为全部单位；中型、小型、微型企业按统计部门划型，无划型的按指标（工信部联企业〔2011〕300号）"
            "或承诺书申报；个体工商户、社会组织按单位类型。大型企业、机关事业单位只计入汇总。",
        ),
        (
            "缓缴与补缴",
            "当月缓缴金额为所属期等于报告月的缓缴额；累计补缴为截至报告月末已分配到补缴义务的补缴款；"
            "待补缴为尚未补缴的义务金额；逾期金额为已过补缴期限仍未补缴的部分；滞纳金按日万分之五计至报告月末。",
        ),
        (
            "核对一致",
            "“当期差异笔数”为所属期等于报告月的差异（与发布的 monthly_statistics 一致）；“未结差异笔数”为截至"
            "报告月末仍存在的全部差异（见差异明细）。核对一致 = 医保与税务的单位数、金额一致且无未结差异。",
        ),
        (
            "数据来源",
            "医保核定（参保单位、缴费核定、职工变动）；税务征收与缓缴登记；统筹基金结存；统计部门中小企业划型；"
            "单位承诺书与缓缴申请。",
        ),
        ("全省合计", "各统筹地区之和；参保职工数按人员去重（同一人在多个统筹地区只计一次）。"),
        *_measure_notes(profile, month),
    ]


def _measure_notes(profile: PolicyProfile, month: str) -> list[tuple[str, str]]:
    """The cities' own measures applied as of the month (SPEC section 8: each from its filed_on; a later one
    of a region replaces the earlier); none: no row, the province's terms hold everywhere."""
    as_of, names = last_day(month), region_names(profile)
    applied: dict[str, object] = {}
    for measure in sorted(profile.city_measures, key=lambda m: m.filed_on):  # stable: the later listed wins ties
        if measure.filed_on <= as_of:
            applied[measure.region_code] = measure
    lines = []
    for region, m in sorted(applied.items()):
        terms = m.repayment
        if terms.kind == "instalments":
            kind, first = f"分期补缴 {terms.instalments} 期", "首期补缴期限"
        else:
            kind, first = "一次性补缴", "补缴期限"
        due = f"，{first} {terms.first_due}" if terms.first_due else f"，{first}按省规定"
        lines.append(f"{names.name(region)}（{region}）：{m.filed_as}（{m.filed_on} 备案）{kind}{due}")
    if not lines:
        return []
    return [("市级缓缴办法", "各市报省备案的缓缴办法，自备案之日起适用：" + "；".join(lines) + "。")]


def warm_up() -> None:
    """What a writer process runs first: the imports a chart needs besides this module's."""
    import matplotlib.pyplot  # noqa: F401


def write_province_month(job: tuple) -> Path:
    """The workbook and chart of one province and report month (``job``: the month's discrepancies,
    decisions and fund reserve files, the target folder, profile, region names, month and the
    province's statistics), on a DuckDB connection of its own, so that months can be written by
    several processes."""
    inputs, target, profile, names, month, stats, corrections = job
    with duckdb.connect() as con:
        for statement in sql_statements(MACROS):
            con.execute(statement)
        return _write_province_month(con, inputs, target, profile, names, month, stats, corrections)


def _write_province_month(
    con,
    inputs: dict[str, Path],
    target: Path,
    profile: PolicyProfile,
    names: RegionNames,
    month: str,
    stats: list[dict],
    corrections: dict | None = None,
) -> Path:
    (query,) = sql_statements(
        HERE / "open_discrepancies.sql",
        discrepancies=q(inputs["reconciliation_discrepancies"]),
        decisions=q(inputs["deferral_decisions"]),
        own=f"x.region_code IN ({', '.join(q(r) for r in profile.regions) or 'NULL'}) "
        f"OR (x.region_code IS NULL AND substr(x.uscc, 3, 2) = {q(profile.province_code[:2])})",
    )
    rel = con.sql(query)
    open_rows = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    block = TitleBlock(report_title(profile, month), names.reporting_unit or names.province, str(last_day(month)))
    wb = new_book()
    counts = open_counts(open_rows, profile.province_code)
    notes = {}
    if inputs["fund_reserve_status"].exists():
        reserves = con.sql(f"SELECT * FROM read_parquet({q(inputs['fund_reserve_status'])})")
        notes = eligibility_notes([dict(zip(reserves.columns, r)) for r in reserves.fetchall()], profile)
    month_stats = [r for r in stats if r["report_month"] == month]
    for category in CATEGORIES:
        rows, bold = stat_rows(month_stats, category, names, counts, notes)
        table_sheet(wb, term("category", category), block, STAT_SHEET_COLUMNS, rows, bold)
    details = [
        [
            names.name(d["region_code"]) if d["region_code"] else UNKNOWN_REGION,
            d["unit_name"],
            d["uscc"],
            d["period"],
            term("component", d["component"]),
            term("discrepancy_kind", d["kind"]),
            d["health_amount"],
            d["tax_amount"],
            d["difference"],
        ]
        for d in open_rows
    ]
    table_sheet(
        wb,
        DISCREPANCY_SHEET,
        block,
        DISCREPANCY_COLUMNS,
        details,
        note=None if details else f"截至 {block.as_of} 无未结差异。",
    )
    if corrections is not None:  # the publication's own month: what changed in the months filed before
        corrections_sheet(wb, block, names, corrections)
    text_sheet(wb, NOTES_SHEET, f"{block.title}——{NOTES_SHEET}", _notes(profile, month))
    path = workbook_path(target, profile.province_code, month)
    save(wb, path, block.title, first_moment(month))  # the report month, not the clock
    write_chart(
        path.with_name(f"chart_{profile.province_code}_{month}.png"),
        block.title,
        [
            r
            for r in stats
            if r["category"] == "all" and r["region_code"] in profile.regions and r["report_month"] <= month
        ],
        names,
    )
    return path


CORRECTIONS_SHEET = "更正说明"
CORRECTION_COLUMNS = [
    Column("统筹地区"),
    Column("区划代码"),
    Column("报告月份"),
    Column("统计分类"),
    Column("项目"),
    Column("原报数", "number"),
    Column("更正后", "number"),
    Column("差额", "number"),
    Column("原因"),
]


def corrections_sheet(wb, block: TitleBlock, names: RegionNames, corrections: dict) -> None:
    """更正说明: every restated figure of the province, or 无更正."""
    reason = "新增或变更的数据文件：" + "、".join(corrections["files"]) if corrections["files"] else ""
    rows = [
        [
            names.name(r["region_code"]),
            r["region_code"],
            r["report_month"],
            term("category", r["category"]),
            STAT_COLUMNS[r["column"]][0],
            r["previous"],
            r["new"],
            r["difference"],
            reason,
        ]
        for r in corrections["rows"]
    ]
    note = None if rows else f"无更正：与上一次发布相比，截至 {block.as_of} 各报告月份的统计数均未变化。"
    # a count as a count, an amount with its two decimals
    kinds = {
        n: dict.fromkeys((5, 6, 7), "count" if STAT_COLUMNS[r["column"]][1] == "count" else "money")
        for n, r in enumerate(corrections["rows"])
    }
    table_sheet(wb, CORRECTIONS_SHEET, block, CORRECTION_COLUMNS, rows, note=note, kinds=kinds)
