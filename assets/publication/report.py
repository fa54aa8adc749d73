"""The bureau report (月度报表): per province (policy profile) and report month, the workbook the
bureau files and a chart, under ``report/<province_code>/<YYYY-MM>/`` of the publication.

Each workbook (``assets/publication/province_report.py``, written by worker processes): a sheet per
category (汇总, 中型企业 …) with region names and the province total, a 差异明细 sheet listing every
discrepancy open as of the month, and a 口径说明 sheet. Every
enumeration is printed in Chinese from the one vocabulary (expectations/vocabulary.yaml); region
names come from ``<profiles>/regions/<province_code>.yaml``. The workbook of a month is computed
from that month's state, so the same inputs give the same bytes; publications are kept under
``publications/`` (each with its reports): the archive of what was sent.

Statistics are a few hundred rows a month, so Python is fine here; the discrepancy sheets and notice
lists (tens of thousands of rows at province size) are written by XlsxWriter (``workbook.py``).
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from assets.profiles import region_names
from assets.publication.checks import published_relation
from assets.publication.notices import write_notices
from assets.publication.province_report import warm_up, write_province_month
from assets.publication.report_reuse import kept, report_inputs
from assets.resources import Warehouse
from assets.storage import sql_statements

HERE = Path(__file__).parent
MACROS = HERE.parent / "macros.sql"


@contextmanager
def writers(warehouse: Warehouse) -> Iterator[ProcessPoolExecutor | None]:
    """The processes the report's workbooks and lists are written by (None: this process writes them),
    started at once: each first imports DuckDB, XlsxWriter and matplotlib (seconds), which the publication's
    other work then overlaps. XlsxWriter and matplotlib hold the GIL, so DEFERRAL_DUCKDB_THREADS processes
    (spawned: the step's process runs DuckDB threads, which a fork would copy mid-flight); none where this
    process may not have children (a Celery worker's pool process is daemonic) or with one thread."""
    processes = 1 if multiprocessing.current_process().daemon else warehouse.settings.duckdb_threads
    if processes <= 1:
        yield None
        return
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        for _ in range(processes):  # a process is spawned for each task waiting
            pool.submit(warm_up)
        yield pool


def write_report(
    con,
    warehouse: Warehouse,
    tables: Path,
    target: Path,
    month: str,
    corrections: dict | None = None,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[list[Path], dict]:
    """Every province's workbooks and charts of every report month through ``month``, from the
    publication's statistics under ``tables`` and each month's discrepancies, into ``target``; a
    month whose inputs are those of the current publication's is taken from it. The workbooks of
    ``month`` get 更正说明 from ``corrections`` (restated ``rows`` and the changed raw ``files``).
    ``pool``: the processes that write them (:func:`writers`); None: this process.
    Returns the files and each month's input digest (``<province_code>/<month>`` -> digest)."""
    corrections = corrections or {"rows": [], "files": []}
    stats_rel = con.sql(published_relation(tables / "monthly_statistics"))
    stats = [dict(zip(stats_rel.columns, r)) for r in stats_rel.fetchall()]
    for statement in sql_statements(MACROS):
        con.execute(statement)
    previous = warehouse.root / "published" / "report"
    manifest = previous.parent / "PUBLICATION.json"
    recorded = json.loads(manifest.read_text(encoding="utf-8")) if manifest.exists() else {}
    before = recorded.get("report_inputs", {})
    # the previous publication's own month was written with its 更正说明: written again, without it
    before = {k: v for k, v in before.items() if not k.endswith(f"/{recorded.get('as_of_month')}")}
    jobs, written, inputs = [], [], {}
    for profile in warehouse.profiles():
        names = region_names(profile)
        own = [r for r in stats if r["region_code"] in profile.regions or r["region_code"] == profile.province_code]
        for m in sorted({r["report_month"] for r in own}):
            key = f"{profile.province_code}/{m}"
            inputs[key] = report_inputs(warehouse, profile, names, m)
            own_corrections = None
            if m == month:  # its 更正说明 depends on the previous publication too: always written
                rows = [r for r in corrections["rows"] if r["region_code"][:2] == profile.province_code[:2]]
                own_corrections = {"rows": rows, "files": corrections["files"]}
            elif (
                not warehouse.recompute_all  # --full writes every workbook (and records what each is made from)
                and inputs[key] is not None
                and before.get(key) == inputs[key]
                and (previous / key).is_dir()
            ):
                written += kept(previous, target, key)
                continue
            jobs.append(
                (
                    {
                        "reconciliation_discrepancies": warehouse.policy_path("reconciliation_discrepancies", m),
                        "deferral_decisions": warehouse.policy_path("deferral_decisions", m),
                        "fund_reserve_status": warehouse.policy_path("fund_reserve_status", m, profile.policy_id),
                    },
                    target,
                    profile,
                    names,
                    m,
                    own,
                    own_corrections,
                )
            )
    # the lists collection staff act on: the publication's month (each earlier publication kept its own)
    notices = [
        (warehouse.policy_path("repayment_notices", month, p.policy_id), target, p, region_names(p), month)
        for p in warehouse.profiles()
    ]
    if pool is not None:
        books = [pool.submit(write_province_month, job) for job in jobs]  # the longest first
        lists = [pool.submit(write_notices, job) for job in notices]
        written += [f.result() for f in books] + [path for f in lists for path in f.result()]
    else:
        written += map(write_province_month, jobs)
        written += [path for job in notices for path in write_notices(job)]
    return written, {k: v for k, v in inputs.items() if v is not None}
