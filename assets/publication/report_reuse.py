"""A new publication keeps the workbooks and charts, and the report-month files of the tables published
with every month, whose inputs did not change since the current one (monthly operation: a new month
writes that month's files, not all history). The publication's PUBLICATION.json records each month's
input digest (``report_inputs``, ``history_inputs``).
未变化月份的报表与历史月份数据沿用上一版发布的文件。
"""

import json
import os
from pathlib import Path

import matplotlib

from assets import month_digests
from assets.profiles import PolicyProfile, RegionNames, region_names
from assets.publication.chart import cjk_font
from assets.publication.tables import HISTORY, history_months
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


def history_inputs(warehouse: Warehouse, table: str, month: str) -> str | None:
    """A digest of what the published ``table``'s file of report month ``month`` is made from: the code,
    the profiles and region names, and each province's partition of the month (its report-month digest:
    what it was computed from); None when a partition has no digest (then the month is written)."""
    parts = []
    for path in sorted(warehouse.policy_path(table, month).parent.glob("*.parquet")):
        digest = month_digests.recorded(warehouse, table, month, path.stem).get("digest")
        if digest is None:
            return None
        parts.append(f"{path.stem} {digest}")
    profiles = warehouse.profiles()
    names = [region_names(p).model_dump_json() for p in profiles]
    return digest_of([setup_digest(profiles, warehouse.pii_key), *names, table, month, *parts])


def kept_history(warehouse: Warehouse, previous: Path | None, month: str) -> tuple[dict, dict]:
    """What each report month of the history tables of a publication as of ``month`` is made from
    (table -> month -> its ``history_inputs``, where it has one), and the months the current publication ``previous``
    wrote from the same inputs (table -> month -> its recorded rows and digest): their files are
    linked, not written again. None kept under ``--full``."""
    inputs = {t: {m: history_inputs(warehouse, t, m) for m in history_months(warehouse, t, month)} for t in HISTORY}
    inputs = {t: {m: k for m, k in months.items() if k is not None} for t, months in inputs.items()}
    manifest = previous / "PUBLICATION.json" if previous else None
    if warehouse.recompute_all or manifest is None or not manifest.exists():
        return inputs, {}
    before = json.loads(manifest.read_text(encoding="utf-8"))
    out: dict[str, dict] = {}
    for table, months in inputs.items():
        recorded = before.get("history_inputs", {}).get(table, {})
        digests = before.get("tables", {}).get(table, {}).get("months", {})
        for m, key in months.items():
            held = (previous / table / f"report_month={m}").is_dir()
            if recorded.get(m) == key and m in digests and held:
                out.setdefault(table, {})[m] = digests[m]
    return inputs, out


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
