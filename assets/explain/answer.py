"""`deferral explain`: the trail of one unit as of a report month of the current publication (SPEC
section 7), gathered by :mod:`assets.explain.trail` and :mod:`assets.explain.sections`."""

from __future__ import annotations

from pathlib import Path

from assets.explain.sections import build
from assets.explain.trail import ExplainError, Trail, published_months
from assets.months import last_day
from assets.profiles import PolicyProfile, region_names


def explain(
    root: Path, profiles: list[PolicyProfile], pii_key: str, unit_id: str | None, uscc: str | None, month: str | None
) -> dict:
    """The trail of one unit (by unit_id or uscc) as of ``month`` (default: the publication's month)."""
    version, months = published_months(root / "published")
    month = month or months[-1]
    if month not in months:
        raise ExplainError(
            f"the current publication ({version}) holds report months {months[0]}..{months[-1]}, not {month}"
        )
    trail = Trail(root, profiles, pii_key)
    try:
        unit = trail.find_unit(unit_id, uscc)
        profile = next((p for p in profiles if unit["region_code"] in p.regions), None)
        if profile is None:
            raise ExplainError(f"unit {unit['unit_id']}: region {unit['region_code']} is in no policy profile")
        trail.cut(unit, profile.policy_id, month)
        return build(trail, profile, region_names(profile), version, month, last_day(month))
    finally:
        trail.con.close()
