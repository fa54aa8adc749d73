"""A new publication keeps the workbooks and charts of the report months whose inputs did not change
since the current one (monthly operation: a new month writes that month's workbooks, not all
history). The publication's PUBLICATION.json records each month's input digest (``report_inputs``).
未变化月份的报表沿用上一版发布的文件。
"""

import os
from pathlib import Path

import matplotlib

from assets import month_digests
from assets.profiles import PolicyProfile, RegionNames
from assets.publication.chart import cjk_font
from assets.resources import Warehouse
from assets.versions import digest_of, setup_digest


def report_inputs(warehouse: Warehouse, profile: PolicyProfile, names: RegionNames, month: str) -> str | None:
    """A digest of what the workbook and chart of ``profile``'s ``month`` are made from: the code, the
    profile and region names, the chart's font, the province's statistics through the month, its fund
    reserve status of the month and every
    province's discrepancies and decisions of the month (their report-month digests); None when a
    month has no digest (then it is written)."""
    months = [m for m in warehouse.policy_months("monthly_statistics") if m <= month]
    parts = [(n, m, p) for m in months for n, p in [("monthly_statistics", profile.policy_id)]]
    parts.append(("fund_reserve_status", month, profile.policy_id))  # the 说明 of regions that may not defer
    parts += [
        (n, month, p.policy_id)
        for n in ("reconciliation_discrepancies", "deferral_decisions")
        for p in warehouse.profiles()
    ]
    recorded = [month_digests.recorded(warehouse, n, m, p).get("digest") for n, m, p in parts]
    if None in recorded:
        return None
    fixed = [
        setup_digest(warehouse.profiles(), warehouse.pii_key),
        profile.content_hash,
        names.model_dump_json(),
        str(cjk_font()),
        matplotlib.__version__,
    ]
    return digest_of([*fixed, *(f"{n} {m} {p} {d}" for (n, m, p), d in zip(parts, recorded))])


def kept(previous: Path, target: Path, key: str) -> list[Path]:
    """The previous publication's workbook and chart of ``key`` (``<province_code>/<month>``), linked
    into ``target`` (a publication is never changed once written, so its files can be shared)."""
    kept = []
    for old in sorted((previous / key).glob("*_*.*")):
        if old.name.startswith(("report_", "chart_")):
            new = target / key / old.name
            new.parent.mkdir(parents=True, exist_ok=True)
            os.link(old, new)
            kept.append(new)
    return kept
