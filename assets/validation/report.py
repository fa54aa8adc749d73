"""The auditors' validation report (数据校验报告): one self-contained HTML page, CSS inline and no
script or font from a CDN, so it renders the same on a machine without internet.

GX's own Data Docs (``data_docs/<table>/``) load Bootstrap and jQuery from CDNs and render
unstyled offline; this page carries every expectation's outcome and the quarantine counts per
rule, and links those Data Docs for whoever has a network.
"""

import html
import json
import os

import dagster as dg

from assets.contracts import RAW_TABLES
from assets.ingest.assets import ingest_key
from pipelines.resources import Warehouse

CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem;color:#1f2933;background:#f7f9fb}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #3b6ea5;padding-bottom:.2rem}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:.6rem 0;min-width:60%}
th{background:#3b6ea5;color:#fff;text-align:left;padding:.4rem .7rem;font-weight:600}
td{padding:.35rem .7rem;border-top:1px solid #e4e7eb} tr:nth-child(even) td{background:#f3f6f9}
.ok{color:#1b7f3b;font-weight:600} .bad{color:#b42318;font-weight:600} .muted{color:#616e7c;font-size:.9rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-size:.85rem}
.badge.ok{background:#e3f4e8} .badge.bad{background:#fde8e7}
"""


def render(results: list[dict]) -> str:
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>Validation report — 数据校验报告</title>", f"<style>{CSS}</style></head><body>",
        "<h1>Validation report · 数据校验报告</h1>",
        "<p class='muted'>Great Expectations suites (expectations/*.json) run over every row read; "
        "each expectation's unexpected rows must equal the rows quarantined for the same rule. "
        "每条期望的不合格行数须与隔离区同一规则的行数一致。</p>",
        "<table id='summary'><tr><th>table 表</th><th>expectations 期望</th><th>failed 未通过</th>"
        "<th>GX = quarantine 一致</th><th>Data Docs</th></tr>",
    ]
    for r in results:
        failed = sum(not e["success"] for e in r["expectations"])
        agree = "<span class='badge ok'>yes 一致</span>" if r["agree"] else "<span class='badge bad'>NO 不一致</span>"
        parts.append(f"<tr><td><a href='#{r['table']}'>{html.escape(r['table'])}</a></td><td>{len(r['expectations'])}</td>"
                     f"<td>{failed}</td><td>{agree}</td><td><a href='{r['table']}/index.html'>GX</a></td></tr>")
    parts.append("</table>")
    for r in results:
        parts.append(f"<h2 id='{r['table']}'>{html.escape(r['table'])} — {html.escape(r['title'])}</h2>")
        parts.append("<table><tr><th>expectation</th><th>column 列</th><th>rows 行数</th><th>unexpected 不合格</th>"
                     "<th>quarantined 隔离</th><th>result 结果</th></tr>")
        for e in r["expectations"]:
            status = "<span class='ok'>pass</span>" if e["success"] else "<span class='bad'>fail</span>"
            parts.append(f"<tr><td>{html.escape(e['expectation'])}</td><td>{html.escape(e['column'])}</td>"
                         f"<td>{e['element_count']:,}</td><td>{e['unexpected_count']:,}</td><td>{e['quarantined']:,}</td>"
                         f"<td>{status}</td></tr>")
        parts.append("</table>")
        other = {k: v for k, v in r["quarantine_by_rule"].items()
                 if k not in {e["rule"] for e in r["expectations"]}}
        if other:
            parts.append("<p class='muted'>Other quarantine rules 其他隔离规则: "
                         + ", ".join(f"{html.escape(k)} {v:,}" for k, v in sorted(other.items())) + "</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


@dg.asset(
    group_name="validation",
    kinds={"html"},
    deps=[ingest_key(t) for t in RAW_TABLES],
    owners=["team:data-engineering"],
)
def validation_report(warehouse: Warehouse) -> dg.MaterializeResult:
    """The auditors' offline validation report: every GX expectation's outcome per table beside the
    quarantine counts, in one self-contained HTML page. 审计用数据校验报告（离线可读）。"""
    folder = warehouse.root / "warehouse" / "validation"
    results = [json.loads((folder / f"{t}.json").read_text(encoding="utf-8"))
               for t in RAW_TABLES if (folder / f"{t}.json").exists()]
    target = warehouse.docs_dir() / "validation_report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".validation_report.{os.getpid()}.tmp")
    tmp.write_text(render(results), encoding="utf-8")
    tmp.replace(target)
    return dg.MaterializeResult(metadata={
        "report": dg.MetadataValue.path(str(target)),
        "report_url": dg.MetadataValue.url(target.as_uri()),
        "tables": len(results),
        "tables_where_gx_and_quarantine_disagree": sum(not r["agree"] for r in results),
    })
