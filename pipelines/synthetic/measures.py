"""`deferral generate --measures`: the profiles in use, copied to ``<data-dir>/profiles/`` with two planted
city measures each (SPEC section 8), so that a run can be tried with a city's own repayment terms:
``DEFERRAL_PROFILES_DIR=<data-dir>/profiles deferral run --data-dir <data-dir>``.

Planted, per profile (illustrative, marked so in the file), on the first two of its regions that the
scale gives units and a sufficient reserve: the first repays in 3 instalments
(filed on the first day of the profile's first period, so every report month applies it); the second
repays in one sum on the last day of the third month after the window's end, or after the
province's fixed date where that is later (filed a month later, so the earliest report month still
holds the province's terms).
"""

from __future__ import annotations

import calendar
import datetime as dt
import shutil
from pathlib import Path

from assets.profiles import PolicyProfile, load_profiles, profile_folders
from pipelines.synthetic.scales import LOW_RESERVES, MISSING_RESERVES, SCALES


def _month_end(year: int, month: int) -> dt.date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def planted(profile: PolicyProfile, regions: list[str]) -> str:
    """The ``city_measures`` block planted in one profile, on the first two of ``regions``."""
    y, m = (int(x) for x in profile.first_period.split("-"))
    filed = dt.date(y, m, 1)
    later_due = _month_end(y, m + profile.window_periods - 1 + 3)
    if profile.repayment_fixed_date:  # later than the province's own fixed date, too
        fy, fm = (int(x) for x in profile.repayment_fixed_date.split("-")[:2])
        later_due = max(later_due, _month_end(fy, fm + 3))
    first, second = regions[0], regions[1 % len(regions)]
    return (
        "\n# Planted by `deferral generate --measures` (illustrative: no city's filed terms)\n"
        "city_measures:\n"
        f'  - region_code: "{first}"\n'
        f'    filed_as: "示例：{first} 分期补缴办法（generate --measures）"\n'
        f"    filed_on: {filed.isoformat()}\n"
        "    repayment: {kind: instalments, instalments: 3}\n"
        f'  - region_code: "{second}"\n'
        f'    filed_as: "示例：{second} 补缴期限延后办法（generate --measures）"\n'
        f"    filed_on: {_month_end(y, m + 1).replace(day=1).isoformat()}\n"
        f"    repayment: {{kind: lump_sum, first_due: {later_due.isoformat()}}}\n"
    )


def measure_regions(profile: PolicyProfile, scale: str) -> list[str]:
    """The profile's regions the generator gives units and a sufficient reserve at ``scale`` (a measure
    elsewhere would apply to nobody), in the profile's order; all of its regions if none."""
    kept = SCALES[scale].regions
    usable = [
        r
        for r in profile.regions
        if (kept is None or r in kept) and r not in LOW_RESERVES and r not in MISSING_RESERVES
    ]
    return usable or list(profile.regions)


def plant_measures(data_dir: Path, profiles_dir: str | None, scale: str) -> Path:
    """Writes ``<data_dir>/profiles/``: every profile in use (with its region names) and planted measures;
    a profile that already holds measures keeps them. Returns the folder."""
    target = Path(data_dir) / "profiles"
    if target.exists():
        shutil.rmtree(target)
    (target / "regions").mkdir(parents=True)
    for folder in profile_folders(profiles_dir):
        for names in (folder / "regions").glob("*.yaml"):
            shutil.copy(names, target / "regions" / names.name)
    for profile in load_profiles(profiles_dir):
        text = Path(profile.source_file).read_text(encoding="utf-8")
        block = "" if profile.city_measures else planted(profile, measure_regions(profile, scale))
        (target / Path(profile.source_file).name).write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")
    load_profiles(target)  # what was written loads (a planted entry that breaks a rule would stop here)
    return target
