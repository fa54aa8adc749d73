"""Policy profiles: each province's deferral rules as data (one YAML file per profile).

A profile file holds every parameter of SPEC section 1 with the clause it comes from. Adding a
province means adding a file to the profiles folder; no code branches on a policy_id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_PROFILES_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class PolicyProfile:
    policy_id: str
    name: str
    province_code: str
    regions: tuple[str, ...]
    reserve_months: float
    reserve_strictly_greater: bool
    first_period: str
    window_periods: int
    components: tuple[str, ...]
    shift_if_first_period_paid: bool
    refund_first_period_option: bool
    repayment_rule: str
    repayment_fixed_date: str | None
    late_fee_daily_rate: str
    clauses: dict[str, str]
    source_file: str

    @classmethod
    def from_file(cls, path: Path) -> PolicyProfile:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        try:
            profile = cls(
                policy_id=raw["policy_id"],
                name=raw["name"],
                province_code=str(raw["province_code"]),
                regions=tuple(str(r) for r in raw["regions"]["value"]),
                reserve_months=float(raw["reserve_threshold"]["months"]),
                reserve_strictly_greater=bool(raw["reserve_threshold"]["strictly_greater"]),
                first_period=str(raw["first_period"]["value"]),
                window_periods=int(raw["window_periods"]["value"]),
                components=tuple(raw["components"]["value"]),
                shift_if_first_period_paid=bool(raw["shift_if_first_period_paid"]["value"]),
                refund_first_period_option=bool(raw["refund_first_period_option"]["value"]),
                repayment_rule=raw["repayment_due"]["rule"],
                repayment_fixed_date=raw["repayment_due"].get("date"),
                late_fee_daily_rate=str(raw["late_fee"]["daily_rate"]),
                clauses={k: v["clause"] for k, v in raw.items() if isinstance(v, dict) and "clause" in v},
                source_file=str(path),
            )
        except KeyError as missing:
            raise ValueError(f"policy profile {path} lacks parameter {missing}") from None
        if profile.repayment_rule not in ("month_after_window", "fixed_date"):
            raise ValueError(f"policy profile {path}: unknown repayment_due.rule {profile.repayment_rule!r}")
        if profile.repayment_rule == "fixed_date" and not profile.repayment_fixed_date:
            raise ValueError(f"policy profile {path}: repayment_due.rule fixed_date needs a date")
        return profile


def load_profiles(profiles_dir: str | Path | None = None) -> list[PolicyProfile]:
    """Every profile in the folder, sorted by policy_id; a region may belong to one profile only."""
    folder = Path(profiles_dir) if profiles_dir else DEFAULT_PROFILES_DIR
    profiles = sorted(
        (PolicyProfile.from_file(p) for p in folder.glob("*.y*ml")), key=lambda p: p.policy_id
    )
    if not profiles:
        raise ValueError(f"no policy profiles (*.yaml) in {folder}")
    seen: dict[str, str] = {}
    for profile in profiles:
        for region in profile.regions:
            if region in seen:
                raise ValueError(f"region {region} is in both {seen[region]} and {profile.policy_id}")
            seen[region] = profile.policy_id
    return profiles


def region_policy(profiles: list[PolicyProfile]) -> dict[str, str]:
    """region_code -> policy_id for every pooling region of a known profile."""
    return {region: p.policy_id for p in profiles for region in p.regions}
