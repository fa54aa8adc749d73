"""What is written about a validation: the outcome of the inputs GX judged together, kept beside their
verdicts while they are the same; the step's and the table's record
(``warehouse/validation/<table>.json``, read by the check and the validation report); the Data Docs
landing page. 校验记录：各输入的结果、表的校验记录与文档索引。
"""

import hashlib
import html
import json
import os
from pathlib import Path

from assets.contracts import RawTable

# what each expectation's totals count, summed over inputs and provinces
COUNTS = ("element_count", "unexpected_count", "sql_rejected", "gx_only", "sql_only")


def expectation_totals(spec: dict) -> list[dict]:
    """Each expectation of a suite with its rule (``<rule>:<column>``) and no row counted yet."""
    return [
        {
            "expectation": e["type"],
            "column": e["kwargs"]["column"],
            "rule": f"{e['meta']['rule']}:{e['kwargs']['column']}",
            **dict.fromkeys(COUNTS, 0),
        }
        for e in spec["expectations"]
    ]


def _members(judged: list[Path]) -> list[list]:
    """Each verdicts file by name, size and modification time (a unit accepted since has an input judged
    again: a new file)."""
    return [[j.name, j.stat().st_size, j.stat().st_mtime_ns] for j in judged]


def kept_outcomes(folder: Path, judged: list[Path], one_in: int, batch_rows: int) -> list[tuple[list[str], dict]]:
    """The outcomes kept in ``folder`` (``gx-<key>.json``) that still hold: each of a group of inputs GX
    judged together in an earlier run, kept while every member's verdicts file is the same and current
    and the sampling is the same, as (member names, outcome). Those that no longer hold are removed."""
    current = {m[0]: m for m in _members(judged)}
    valid = []
    for path in sorted(folder.glob("gx-*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record["sampling"] == [one_in, batch_rows] and all(current.get(m[0]) == m for m in record["members"]):
            valid.append(([m[0] for m in record["members"]], record["outcome"]))
        else:
            path.unlink()
    return valid


def keep_outcome(folder: Path, judged: list[Path], one_in: int, batch_rows: int, outcome: dict) -> None:
    """The outcome of the inputs (``judged``) GX judged together, kept for the next runs."""
    members = _members(judged)
    key = hashlib.sha256(json.dumps(members).encode()).hexdigest()[:20]
    record = {"members": members, "sampling": [one_in, batch_rows], "outcome": outcome}
    tmp = folder / f".gx-{key}.json.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    tmp.replace(folder / f"gx-{key}.json")


def sum_expectations(records: list[dict]) -> dict:
    """One outcome from several (a step's inputs, a table's provinces): counts summed per expectation
    (each ran the same suite, in the same order), batches summed."""
    expectations = []
    for i, e in enumerate(records[0]["expectations"]):
        merged = dict(e)
        for key in COUNTS:
            merged[key] = sum(r["expectations"][i][key] for r in records)
        merged["success"] = merged["unexpected_count"] == 0
        merged["agree"] = merged["gx_only"] == 0 and merged["sql_only"] == 0
        expectations.append(merged)
    return {"expectations": expectations, "batches": sum(r["batches"] for r in records)}


def write_docs_index(docs_root: Path) -> None:
    """The landing page linking every table's Data Docs, and each province's of a table ingested by
    province (``<table>/<province>/``), rewritten whole, atomically."""
    pages = sorted(
        p.parent.relative_to(docs_root).as_posix()
        for pattern in ("*/index.html", "*/*/index.html")
        for p in docs_root.glob(pattern)
    )
    items = "\n".join(f'<li><a href="{html.escape(t)}/index.html">{html.escape(t)}</a></li>' for t in pages)
    page = (
        "<!doctype html><meta charset='utf-8'><title>Deferral pipeline — validation</title>"
        "<h1>数据校验 Validation</h1><p><a href='validation_report.html'>Validation report 数据校验报告 "
        "(offline)</a></p><h2>Great Expectations Data Docs</h2>"
        f"<ul>\n{items}\n</ul>\n"
    )
    docs_root.mkdir(parents=True, exist_ok=True)
    tmp = docs_root / f".index.{os.getpid()}.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(docs_root / "index.html")


def merge_outcomes(records: list[dict]) -> dict:
    """One outcome from the provinces' validation records of a table; sampled if any province was."""
    coverage = {
        "mode": "sample" if any(r["coverage"]["mode"] == "sample" for r in records) else "full",
        "rows_checked_by_sql": sum(r["coverage"]["rows_checked_by_sql"] for r in records),
        "one_in": max(r["coverage"]["one_in"] for r in records),
        "rows_evaluated_by_gx": sum(r["coverage"]["rows_evaluated_by_gx"] for r in records),
    }
    return {**sum_expectations(records), "coverage": coverage}


def write_results(path: Path, table: RawTable, outcome: dict, quarantined: dict, rows_quarantined: int) -> dict:
    """warehouse/validation/<table>.json: what the check and the validation report read.
    ``quarantined``: rule hits per rule (a row breaking two rules counts under each);
    ``rows_quarantined``: the quarantine's rows (exact duplicates aside)."""
    for e in outcome["expectations"]:
        e["quarantined"] = quarantined.get(e["rule"], 0)
    record = {
        "table": table.name,
        "title": table.title,
        "agree": all(e["agree"] for e in outcome["expectations"]),
        "batches": outcome["batches"],
        "coverage": outcome["coverage"],
        "expectations": outcome["expectations"],
        "quarantine_by_rule": quarantined,
        "rows_quarantined": rows_quarantined,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return record
