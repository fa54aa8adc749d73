"""The auditors' validation report (数据校验报告): one self-contained HTML page, CSS inline and no
script or font from a CDN, so it renders the same on a machine without internet.

GX's own Data Docs (``data_docs/<table>/``) load Bootstrap and jQuery from CDNs and render
unstyled offline; this page carries every expectation's outcome and the quarantine counts per
rule, and links those Data Docs for whoever has a network.
"""

import html
import json
import os
from datetime import datetime, timezone

import dagster as dg
import duckdb

from assets.contracts import RAW_TABLES, ingest_key
from assets.resources import Warehouse
from assets.vocabulary import rule_text

CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft
YaHei",sans-serif;margin:2rem;color:#1f2933;background:#f7f9fb}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid
#3b6ea5;padding-bottom:.2rem}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:.6rem 0;min-width:60%}
th{background:#3b6ea5;color:#fff;text-align:left;padding:.4rem .7rem;font-weight:600}
td{padding:.35rem .7rem;border-top:1px solid #e4e7eb} tr:nth-child(even) td{background:#f3f6f9}
.ok{color:#1b7f3b;font-weight:600} .bad{color:#b42318;font-weight:600} .muted{color:#616e7c;font-size:.9rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;font-size:.85rem}
.badge.ok{background:#e3f4e8} .badge.bad{background:#fde8e7}
"""


def mask(value: str | None, column: str) -> str:
    """An example value as staff may see it: identifiers keep 4 leading and 2 trailing characters."""
    if value is None:
        return ""
    value = value if len(value) <= 40 else value[:37] + "…"
    if column in ("person_id", "uscc") and len(value) > 6:
        return value[:4] + "*" * (len(value) - 6) + value[-2:]
    return value


def rejections(warehouse: Warehouse, table: str) -> list[dict]:
    """Quarantined rows grouped by rule (a row breaking several counts under each), with examples."""
    path = warehouse.quarantine_path(table, "*")  # one file, or one per province
    if not any(path.parent.glob(path.name)):
        return []
    with duckdb.connect() as con:  # closed here: an open connection left to the garbage collector outlived the run
        rows = con.execute(
            """
            WITH r AS (SELECT unnest(string_split(rule, ';')) AS rule, raw_values, source_file, source_line
                       FROM read_parquet(?))
            SELECT rule, count(*), list(json_extract_string(raw_values, '$."' || split_part(rule, ':', 2) || '"')
                                        ORDER BY source_file, source_line)[1:3]
            FROM r GROUP BY rule ORDER BY rule""",
            [str(path)],
        ).fetchall()
    out = []
    for rule, n, examples in rows:
        kind, _, column = rule.partition(":")
        text = rule_text(rule, RAW_TABLES[table].value_kinds())
        out.append(
            {
                "rule": rule,
                "count": n,
                "zh": text.get("zh", ""),
                "hint": text.get("hint", ""),
                "examples": [mask(e, column) for e in examples if e is not None],
            }
        )
    return out


def render(results: list[dict], run: dict | None = None) -> str:
    parts = [
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>Validation report — 数据校验报告</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Validation report · 数据校验报告</h1>",
        *(
            [
                f"<p class='muted'>run {html.escape(run['run_id'])} · data dir {html.escape(run['data_dir'])} · as of "
                f"{html.escape(run.get('as_of', 'latest'))} · written {html.escape(run['written'])} (UTC)</p>"
            ]
            if run
            else []
        ),
        "<p class='muted'>The SQL compiled from the Great Expectations suites (expectations/*.json) judges every "
        "row read; GX itself judges every rejected row and a deterministic sample of accepted rows (or every row "
        "with <code>deferral run --full-validation</code>: see each table's mode). "
        "Each expectation's unexpected rows must equal the rows quarantined for the same rule. "
        "SQL 规则校验全部记录；GX "
        "校验全部被拒记录及确定性抽样（或全量）。每条期望的不合格行数须与隔离区同一规则的行数一致。</p>",
        "<p class='muted'>Rows quarantined counts rows (as the quarantine folder and the run summary do); rule "
        "hits counts each rule a row breaks, so a row breaking two rules is one row and two hits. "
        "隔离行数为隔离区的记录数；规则命中次数按规则计，一行违反两条规则计两次。</p>",
        "<table id='summary'><tr><th>table 表</th><th>rows quarantined 隔离行数</th><th>rule hits 规则命中次数</th>"
        "<th>expectations 期望</th><th>failed 未通过</th><th>GX = quarantine 一致</th><th>Data Docs</th></tr>",
    ]
    for r in results:
        failed = sum(not e["success"] for e in r["expectations"])
        agree = "<span class='badge ok'>yes 一致</span>" if r["agree"] else "<span class='badge bad'>NO 不一致</span>"
        parts.append(
            f"<tr><td><a href='#{r['table']}'>{html.escape(r['table'])}</a></td><td>{r['rows_quarantined']:,}</td>"
            f"<td>{sum(r['quarantine_by_rule'].values()):,}</td><td>{len(r['expectations'])}</td>"
            f"<td>{failed}</td><td>{agree}</td><td><a href='{r['table']}/index.html'>GX</a></td></tr>"
        )
    parts.append("</table>")
    for r in results:
        parts.append(f"<h2 id='{r['table']}'>{html.escape(r['table'])} — {html.escape(r['title'])}</h2>")
        cov = r.get("coverage") or {}
        if cov:
            judged = (
                "every row 全量"
                if cov["mode"] == "full"
                else f"every rejected row and one in {cov['one_in']:,} accepted rows 被拒记录全量＋抽样"
            )
            parts.append(
                f"<p class='muted'>SQL judged {cov['rows_checked_by_sql']:,} rows; GX judged "
                f"{cov['rows_evaluated_by_gx']:,} ({judged}).</p>"
            )
        parts.append(
            "<table><tr><th>expectation</th><th>column 列</th><th>rows 行数</th><th>unexpected 不合格</th>"
            "<th>quarantined 隔离</th><th>result 结果</th></tr>"
        )
        for e in r["expectations"]:
            status = "<span class='ok'>pass</span>" if e["success"] else "<span class='bad'>fail</span>"
            counts = [f"{e[k]:,}" for k in ("element_count", "unexpected_count", "quarantined")]
            cells = [html.escape(e["expectation"]), html.escape(e["column"]), *counts, status]
            parts.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        parts.append("</table>")
        if r.get("rejections"):
            parts.append(
                "<h3>Rejections by rule · 隔离原因与处理办法</h3><table class='rejections'><tr><th>rule 规则</th>"
                "<th>rows breaking it 违反该规则的行数</th><th>说明</th><th>处理办法 how to fix</th>"
                "<th>examples 示例（证件号已遮蔽）</th></tr>"
            )
            for g in r["rejections"]:
                parts.append(
                    f"<tr><td>{html.escape(g['rule'])}</td><td>{g['count']:,}</td><td>{html.escape(g['zh'])}</td>"
                    f"<td>{html.escape(g['hint'])}</td><td>{html.escape(' | '.join(g['examples']))}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


def summary_table(results: list[dict]) -> str:
    """The report's first table as Markdown, readable in the UI without opening the page."""
    lines = [
        "| table 表 | rows quarantined 隔离行数 | rule hits 规则命中次数 | expectations with rejected rows | "
        "GX = quarantine 一致 |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['table']} | {r['rows_quarantined']:,} | {sum(r['quarantine_by_rule'].values()):,} | "
            f"{sum(not e['success'] for e in r['expectations'])} | {'yes' if r['agree'] else 'NO'} |"
        )
    return "\n".join(lines)


@dg.asset(
    group_name="validation", kinds={"html"}, deps=[ingest_key(t) for t in RAW_TABLES], owners=["team:data-engineering"]
)
def validation_report(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """The auditors' offline validation report: every GX expectation's outcome per table beside the
    quarantine counts, in one self-contained HTML page. 审计用数据校验报告（离线可读）。"""
    folder = warehouse.root / "warehouse" / "validation"
    results = [
        dict(json.loads((folder / f"{t}.json").read_text(encoding="utf-8")), rejections=rejections(warehouse, t))
        for t in RAW_TABLES
        if (folder / f"{t}.json").exists()
    ]
    target = warehouse.docs_dir() / "validation_report.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".validation_report.{os.getpid()}.tmp")
    run = {
        "run_id": context.run_id,
        "data_dir": str(warehouse.root),
        "as_of": context.run.tags.get("deferral/as_of", "latest"),
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    tmp.write_text(render(results, run), encoding="utf-8")
    tmp.replace(target)
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.path(str(target)),
            "report_url": dg.MetadataValue.url(warehouse.docs_link("validation_report.html")),
            "summary": dg.MetadataValue.md(summary_table(results)),
            "tables": len(results),
            "tables_where_gx_and_quarantine_disagree": sum(not r["agree"] for r in results),
        }
    )
