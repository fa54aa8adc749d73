"""The rows of the report's category sheets (汇总, 中型企业 …): a row per pooling region, then the
rows that make the province total add up, then the total.

Every total row equals the sum of the rows shown above it, column by column:
- open discrepancies of units health does not know (no region) get their own row, （未知统筹地区）,
  on 汇总 (they have no category);
- where a person is covered in two regions the regions count them twice and the province once
  (persons are counted distinct): a row 减：跨统筹地区重复人员 carries the difference;
- a region that may not defer says why in 说明 (无结存数据, or its months payable against the
  threshold), instead of zeros with no word.
各行之和等于合计行；不符合缓缴条件的统筹地区注明原因。
"""

from __future__ import annotations

from assets.profiles import PolicyProfile, RegionNames
from assets.publication.workbook import Column
from assets.vocabulary import term

# monthly_statistics column -> (报表表头, kind)
STAT_COLUMNS = {
    "units_deferring": ("缓缴单位数", "count"),
    "persons_covered": ("涉及参保职工数", "count"),
    "deferred_amount": ("当月缓缴金额", "money"),
    "cumulative_deferred": ("累计缓缴金额", "money"),
    "repaid_in_month": ("当月补缴金额", "money"),
    "cumulative_repaid": ("累计补缴金额", "money"),
    "outstanding": ("待补缴金额", "money"),
    "overdue_outstanding": ("逾期金额", "money"),
    "late_fee": ("滞纳金", "money"),
    "tax_units_deferring": ("税务缓缴单位数", "count"),
    "tax_deferred_amount": ("税务缓缴金额", "money"),
    "discrepancies": ("当期差异笔数", "count"),
    "units_in_arrears": ("欠费单位数", "count"),
    "units_flagged": ("风险预警单位数", "count"),
}
STAT_SHEET_COLUMNS = [
    Column("统筹地区"),
    Column("区划代码"),
    *(Column(h, k) for h, k in STAT_COLUMNS.values()),
    Column("未结差异笔数", "count"),
    Column("核对一致"),
    Column("说明"),
]
CATEGORIES = ["all", "medium", "small", "micro", "individual_business", "social_org"]
UNKNOWN_REGION = "（未知统筹地区）"  # a discrepancy of a unit health does not know
DUPLICATE_PERSONS = "减：跨统筹地区重复人员"


def open_counts(open_rows: list[dict], province_code: str) -> dict[tuple[str | None, str], int]:
    """Open discrepancies per (region or province, category): 'all' counts every one, a category
    those of its units; a unit unknown to health counts under (None, 'all') and the province's 'all'."""
    counts: dict[tuple[str | None, str], int] = {}
    for d in open_rows:
        for region in {d["region_code"], province_code}:
            for category in {"all", d["category"]} - {None}:
                counts[(region, category)] = counts.get((region, category), 0) + 1
    return counts


def eligibility_notes(reserves: list[dict], profile: PolicyProfile) -> dict[str, str]:
    """region -> why it may not defer (不符合缓缴条件…), from the month's fund_reserve_status rows."""
    sign = "≤" if profile.reserve_strictly_greater else "<"
    notes = {}
    for r in reserves:
        if r["eligible"]:
            continue
        if r["months_payable"] is None:
            notes[r["region_code"]] = "无结存数据，不符合缓缴条件"
        else:
            notes[r["region_code"]] = (
                f"不符合缓缴条件（可支付月数 {r['months_payable']:.1f} {sign} {profile.reserve_months:g}）"
            )
    return notes


def _blank_row(name: str, code: str | None) -> list:
    return [name, code, *(None for _ in STAT_COLUMNS)]


def stat_rows(
    stats: list[dict], category: str, names: RegionNames, counts: dict, notes: dict[str, str]
) -> tuple[list[list], set[int]]:
    """The sheet's rows and which of them are bold (the total, last)."""
    regions = sorted(
        (r for r in stats if r["category"] == category and r["region_code"] != names.province_code),
        key=lambda r: r["region_code"],
    )
    total = next((r for r in stats if r["category"] == category and r["region_code"] == names.province_code), None)
    out = []
    for r in regions:
        opened = counts.get((r["region_code"], category), 0)
        out.append(
            [
                names.name(r["region_code"]),
                r["region_code"],
                *(r[c] for c in STAT_COLUMNS),
                opened,
                term("boolean", bool(r["reconciled"]) and opened == 0),
                notes.get(r["region_code"]),
            ]
        )
    unknown = counts.get((None, category), 0)
    if unknown:
        out.append([*_blank_row(UNKNOWN_REGION, None), unknown, term("boolean", False), "医保无此单位（见差异明细）"])
    if total is None:
        return out, set()
    twice = sum(r["persons_covered"] for r in regions) - total["persons_covered"]
    if twice:
        row = _blank_row(DUPLICATE_PERSONS, None)
        row[2 + list(STAT_COLUMNS).index("persons_covered")] = -twice
        out.append([*row, None, None, "同一人在多个统筹地区参保，全省只计一次"])
    opened = counts.get((names.province_code, category), 0)
    out.append(
        [
            names.name(names.province_code),
            names.province_code,
            *(total[c] for c in STAT_COLUMNS),
            opened,
            term("boolean", bool(total["reconciled"]) and opened == 0),
            "以上各行之和",
        ]
    )
    return out, {len(out) - 1}
