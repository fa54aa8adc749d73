"""Restatements (更正说明, SPEC section 7): a figure of ``monthly_statistics`` for a report month that
both the previous publication and the new one hold, which changed. Each province's workbook of the
new publication's month lists them with the raw files that are new or changed since the previous
publication (the late records that made them), or says 无更正 (the sheet:
``assets/publication/province_report.py``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import dagster as dg

from assets.ingest.sources import raw_files, relative_name
from assets.publication.diff import compare_table
from assets.publication.statistics_sheet import STAT_COLUMNS
from assets.resources import Warehouse
from assets.versions import file_sha256


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


def restated_metadata(version: Path) -> dict:
    """What the UI shows of the restatements this publication made (更正说明 in its workbooks)."""
    manifest = json.loads((version / "PUBLICATION.json").read_text(encoding="utf-8"))
    rows = manifest.get("restatements", [])
    lines = [
        "| region 统筹地区 | month 报告月份 | category 统计分类 | figure 项目 | previous 原报数 | new 更正后 |",
        "|---|---|---|---|---:|---:|",
    ]
    lines += [
        f"| {r['region_code']} | {r['report_month']} | {r['category']} | {r['column']} | {r['previous']} | {r['new']} |"
        for r in rows[:50]
    ]
    return {
        "restated_months 更正月份": dg.MetadataValue.json(manifest.get("restated_months", [])),
        "restated_figures 更正项数": len(rows),
        "restatements 更正说明": dg.MetadataValue.md(
            "\n".join(lines) if rows else "no restatement since the previous publication 无更正"
        ),
        "compared_with 比对的上一次发布": manifest.get("previous") or "none 无",
    }
