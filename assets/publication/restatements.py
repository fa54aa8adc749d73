"""Restatements (更正说明, SPEC section 7): a figure of ``monthly_statistics`` for a report month that
both the previous publication and the new one hold, which changed. Each province's workbook of the
new publication's month lists them with the raw files that are new or changed since the previous
publication (the late records that made them), or says 无更正.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from assets.ingest.sources import raw_files, relative_name
from assets.profiles import RegionNames
from assets.publication.diff import compare_table
from assets.publication.statistics_sheet import STAT_COLUMNS
from assets.publication.workbook import COUNT_FORMAT, FIRST_DATA_ROW, MONEY_FORMAT, Column, TitleBlock, table_sheet
from assets.resources import Warehouse
from assets.versions import file_sha256
from assets.vocabulary import term


def raw_listing(warehouse: Warehouse) -> dict[str, str]:
    """Every raw file of the data dir -> its SHA-256 (what a publication was made from)."""
    root = warehouse.root / "raw"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return {relative_name(f, warehouse.root): file_sha256(f) for d in folders for f in raw_files(d)}


def changed_files(previous: Path | None, now: dict[str, str]) -> list[str]:
    """Raw files new or changed since the publication ``previous`` (its PUBLICATION.json)."""
    manifest = previous / "PUBLICATION.json" if previous else None
    if manifest is None or not manifest.exists():
        return []
    before = json.loads(manifest.read_text(encoding="utf-8")).get("raw_files", {})
    return sorted(f for f, digest in now.items() if before.get(f) != digest)


def _number(text: str | None):
    return Decimal(text) if text is not None and "." in text else int(text) if text is not None else 0


def restatements(con, previous: Path | None, staging: Path) -> list[dict]:
    """Every restated figure: region, report month, category, column, previous, new, difference."""
    if previous is None or not (previous / "monthly_statistics").is_dir():
        return []
    held = [
        {p.name.split("=", 1)[1] for p in (folder / "monthly_statistics").glob("report_month=*")}
        for folder in (previous, staging)
    ]
    diff = compare_table(con, previous, staging, "monthly_statistics", sorted(held[0] & held[1]))
    out = []
    for cell in diff["changed"]:
        if cell["column_name"] not in STAT_COLUMNS:
            continue
        old, new = _number(cell["old_value"]), _number(cell["new_value"])
        out.append(
            {
                "region_code": cell["region_code"],
                "report_month": cell["report_month"],
                "category": cell["category"],
                "column": cell["column_name"],
                "previous": old,
                "new": new,
                "difference": new - old,
            }
        )
    return out


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
    ws = table_sheet(wb, CORRECTIONS_SHEET, block, CORRECTION_COLUMNS, rows, note=note)
    for n, r in enumerate(corrections["rows"]):  # a count as a count, an amount with its two decimals
        shown = COUNT_FORMAT if STAT_COLUMNS[r["column"]][1] == "count" else MONEY_FORMAT
        for column in (6, 7, 8):
            ws.cell(FIRST_DATA_ROW + n, column).number_format = shown
