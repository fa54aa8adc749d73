"""催缴提醒清单: the lists collection staff act on, one workbook per pooling region and report month,
each unit's notice with its amount, earliest due date and late fee as of the month's last day.
Notice lists for collection staff, per region and month (SPEC section 6).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.months import first_moment, label, last_day
from assets.publication.workbook import Column, TitleBlock, new_book, save, table_sheet
from assets.storage import q
from assets.vocabulary import term

NOTICE_COLUMNS = [
    Column("单位名称"),
    Column("统一社会信用代码"),
    Column("提醒类型"),
    Column("应补缴金额", "money"),
    Column("最早到期日", "date"),
    Column("滞纳金", "money"),
    Column("截至日期", "date"),
]


def write_notices(job: tuple) -> list[Path]:
    """催缴提醒清单: one workbook per pooling region with notices that month, sorted by amount (largest
    first), for the collection staff of that region. ``job``: the province's own partition of the
    month's notices, the target folder, profile, region names and month; read on a DuckDB connection
    of its own, so that the lists can be written beside the workbooks by another process."""
    path, target, profile, names, month = job
    if not path.exists():
        return []
    with duckdb.connect() as con:
        rel = con.sql(
            f"SELECT * FROM read_parquet({q(path)}) ORDER BY region_code, outstanding_amount DESC, uscc, kind"
        )
        notices = [dict(zip(rel.columns, r)) for r in rel.fetchall()]
    as_of = last_day(month)
    # under a city measure's instalments a notice names them (第 i 期，共 k 期); a province without
    # measures keeps the list as it was
    columns = NOTICE_COLUMNS + [Column("分期")] if profile.city_measures else NOTICE_COLUMNS
    written = []
    for region in sorted({n["region_code"] for n in notices} & set(profile.regions)):
        rows = [
            [
                n["unit_name"],
                n["uscc"],
                term("notice_kind", n["kind"]),
                n["outstanding_amount"],
                n["earliest_due_date"],
                n["late_fee"],
                as_of,
                *([n["instalment_label"] or ""] if profile.city_measures else []),
            ]
            for n in notices
            if n["region_code"] == region
        ]
        title = f"{names.name(region)}阶段性缓缴职工医保费催缴提醒清单（{label(month)}）"
        block = TitleBlock(title, names.bureau(region), str(as_of))
        wb = new_book()
        table_sheet(
            wb,
            "催缴提醒",
            block,
            columns,
            rows,
            note=f"本清单反映截至 {as_of} 的缴费情况：该日之后的缴费未计入，催缴前请核实。",
        )
        out = target / profile.province_code / month / f"notices_{region}_{month}.xlsx"
        save(wb, out, title, first_moment(month))
        written.append(out)
    return written
