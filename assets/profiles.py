"""Policy profiles: each province's deferral rules as data (one YAML file per profile).

A profile file holds every parameter of SPEC section 1 with the clause it comes from. Adding a
province means adding a file to the profiles folder; no code branches on a policy_id.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assets.months import last_day, next_month

DEFAULT_PROFILES_DIR = Path(__file__).parent / "policy" / "profiles"  # the policy stage's data, beside its SQL


class _Cited(BaseModel):
    """A parameter of a profile file: its value(s) and the clause it comes from (required)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    clause: str = Field(min_length=1)


class _Regions(_Cited):
    value: list[str] = Field(min_length=1)


class _Reserve(_Cited):
    months: Decimal
    strictly_greater: bool


class _Period(_Cited):
    value: str = Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class _Count(_Cited):
    value: int = Field(ge=1)


class _Components(_Cited):
    value: list[Literal["employer_medical", "employer_maternity"]] = Field(min_length=1)


class _Switch(_Cited):
    value: bool


class _Repayment(_Cited):
    rule: Literal["month_after_window", "fixed_date"]
    date: Optional[dt.date] = None

    @model_validator(mode="after")
    def _fixed_date_needs_a_date(self):
        if self.rule == "fixed_date" and self.date is None:
            raise ValueError("repayment_due.rule fixed_date needs a date")
        return self


class _LateFee(_Cited):
    daily_rate: Decimal


class _Ratio(_Cited):
    value: Decimal = Field(gt=0, le=1)


class _MeasureTerms(BaseModel):
    """A measure's repayment terms (SPEC section 8): a later lump sum, or 2..12 monthly instalments."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["lump_sum", "instalments"]
    instalments: Optional[int] = Field(default=None, ge=2, le=12)
    first_due: Optional[dt.date] = None

    @model_validator(mode="after")
    def _instalments_with_their_kind(self):
        if self.kind == "instalments" and self.instalments is None:
            raise ValueError("kind instalments needs instalments (2..12)")
        if self.kind == "lump_sum" and self.instalments is not None:
            raise ValueError("a lump_sum has no instalments")
        return self


class CityMeasure(BaseModel):
    """A city's own deferral measure filed with the province (皖医保秘〔2022〕67号 八): its region, what
    was filed and when (known and applied from that day on), and its repayment terms."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    region_code: str
    filed_as: str = Field(min_length=1)
    filed_on: dt.date
    repayment: _MeasureTerms

    def terms(self) -> str:
        """``lump_sum`` or ``instalments:k`` (deferral_decisions.repayment_terms)."""
        return "lump_sum" if self.repayment.kind == "lump_sum" else f"instalments:{self.repayment.instalments}"


# SPEC section 6's default, for a profile that sets none (each of ours cites its own clause)
DEFAULT_RISK_HEADCOUNT_RATIO = _Ratio(value=Decimal("0.5"), clause="SPEC section 6 default (风险预警：参保人数减半)")


class ProfileFile(BaseModel):
    """The whole file: every parameter of SPEC sections 1 and 6, each with its clause; no other key."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    policy_id: str = Field(pattern=r"^[a-z0-9-]+$")
    name: str
    province_code: str = Field(pattern=r"^[0-9]{6}$")
    source: str
    regions: _Regions
    reserve_threshold: _Reserve
    first_period: _Period
    window_periods: _Count
    components: _Components
    shift_if_first_period_paid: _Switch
    refund_first_period_option: _Switch
    repayment_due: _Repayment
    late_fee: _LateFee
    # SPEC section 6: headcount_drop when the report month's persons < ratio x the window_start period's
    risk_headcount_ratio: _Ratio = DEFAULT_RISK_HEADCOUNT_RATIO
    # SPEC section 8: cities' own measures (none in the bundled profiles); applied from each filed_on
    city_measures: tuple[CityMeasure, ...] = ()

    @model_validator(mode="after")
    def _measures_fit_the_profile(self):
        """Each measure names a region of this profile; a first_due falls after the last day of the
        profile's unshifted last window period (SPEC section 8)."""
        window_ends = last_day(next_month(self.first_period.value, self.window_periods.value - 1))
        for i, measure in enumerate(self.city_measures):
            entry = f"city_measures[{i}] (region {measure.region_code}, filed as {measure.filed_as})"
            if measure.region_code not in self.regions.value:
                raise ValueError(f"{entry}: region {measure.region_code} is not a region of this profile")
            first_due = measure.repayment.first_due
            if first_due is not None and first_due <= window_ends:
                raise ValueError(f"{entry}: first_due {first_due} is not after the window's end {window_ends}")
        return self


@dataclass(frozen=True)
class PolicyProfile:
    policy_id: str
    name: str
    source: str
    province_code: str
    regions: tuple[str, ...]
    reserve_months: Decimal
    reserve_strictly_greater: bool
    first_period: str
    window_periods: int
    components: tuple[str, ...]
    shift_if_first_period_paid: bool
    refund_first_period_option: bool
    repayment_rule: str
    repayment_fixed_date: str | None
    late_fee_daily_rate: str
    risk_headcount_ratio: Decimal
    clauses: dict[str, str]
    city_measures: tuple[CityMeasure, ...]
    source_file: str
    content_hash: str  # sha256 of the file's bytes, first 16 hex: the profile's version as auditors see it

    @classmethod
    def from_file(cls, path: Path) -> PolicyProfile:
        """The profile in ``path``, parsed once per content (a run reads the profiles in every step)."""
        return _parsed(cls._from_bytes, str(path), path.read_bytes())

    @classmethod
    def _from_bytes(cls, path: Path, content: bytes) -> PolicyProfile:
        try:
            f = ProfileFile.model_validate(yaml.safe_load(content.decode("utf-8")))
        except yaml.YAMLError as error:
            raise ValueError(f"policy profile {path}: not valid YAML ({' '.join(str(error).split())})") from None
        except ValidationError as error:
            problems = "; ".join(_problem(e) for e in error.errors())
            raise ValueError(f"policy profile {path}: {problems}") from None
        return cls(
            policy_id=f.policy_id,
            name=f.name,
            source=f.source,
            province_code=f.province_code,
            regions=tuple(f.regions.value),
            reserve_months=f.reserve_threshold.months,
            reserve_strictly_greater=f.reserve_threshold.strictly_greater,
            first_period=f.first_period.value,
            window_periods=f.window_periods.value,
            components=tuple(f.components.value),
            shift_if_first_period_paid=f.shift_if_first_period_paid.value,
            refund_first_period_option=f.refund_first_period_option.value,
            repayment_rule=f.repayment_due.rule,
            repayment_fixed_date=f.repayment_due.date.isoformat() if f.repayment_due.date else None,
            late_fee_daily_rate=str(f.late_fee.daily_rate),
            risk_headcount_ratio=f.risk_headcount_ratio.value,
            clauses={k: v.clause for k, v in f if isinstance(v, _Cited)},
            city_measures=f.city_measures,
            source_file=str(path),
            content_hash=hashlib.sha256(content).hexdigest()[:16],
        )


@functools.lru_cache(maxsize=128)
def _parsed(parse, path: str, content: bytes):
    """A profile or region-names file parsed once per content (a run asks in every step, a publication per
    table and month): keyed by the file's bytes, so an edited file is read again; the results are frozen."""
    return parse(Path(path), content)


def _problem(error: dict) -> str:
    """One validation error: where in the file (``city_measures[1].repayment.instalments``) and what."""
    where = "".join(f"[{x}]" if isinstance(x, int) else f".{x}" for x in error["loc"]).lstrip(".")
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def profile_folders(profiles_dir: str | Path | None = None) -> list[Path]:
    """The folders named by ``profiles_dir`` (several joined by ``os.pathsep``, as in
    ``DEFERRAL_PROFILES_DIR=assets/policy/profiles:assets/policy/profiles/examples``), or the default."""
    if not profiles_dir:
        return [DEFAULT_PROFILES_DIR]
    return [Path(part) for part in str(profiles_dir).split(os.pathsep) if part]


def load_profiles(profiles_dir: str | Path | None = None) -> list[PolicyProfile]:
    """Every profile in the folder(s), sorted by policy_id; a region may belong to one profile only."""
    folders = profile_folders(profiles_dir)
    profiles = sorted(
        (PolicyProfile.from_file(p) for folder in folders for p in folder.glob("*.y*ml")), key=lambda p: p.policy_id
    )
    if not profiles:
        raise ValueError(f"no policy profiles (*.yaml) in {os.pathsep.join(map(str, folders))}")
    ids = [p.policy_id for p in profiles]
    if len(set(ids)) < len(ids):
        raise ValueError(f"a policy_id appears in two profile files: {sorted({i for i in ids if ids.count(i) > 1})}")
    seen: dict[str, str] = {}
    for profile in profiles:
        for region in profile.regions:
            if region in seen:
                raise ValueError(f"region {region} is in both {seen[region]} and {profile.policy_id}")
            seen[region] = profile.policy_id
    return profiles


class RegionNames(BaseModel):
    """``<profiles_dir>/regions/<province_code>.yaml``: the names of a province's pooling regions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    province_code: str
    province: str
    reporting_unit: str
    regions: dict[str, str]
    # the bureau that acts for a region where it is not "<region name>医疗保障局" (a provincial-level pool)
    bureaus: dict[str, str] = {}

    def name(self, code: str) -> str:
        """A region's name; the province's own code names the province total (全省合计)."""
        if code == self.province_code:
            return f"{self.province}合计"
        return self.regions.get(code, code)

    def known_name(self, code: str) -> str | None:
        """The name the region names data gives a region or the province (安徽省), else None."""
        if code == self.province_code:
            return self.province if self.province != code else None
        return self.regions.get(code)

    def bureau(self, code: str) -> str:
        """The medical-insurance bureau of a region (合肥市医疗保障局): whose lists collection staff
        work from. A region without a name is its province's (the reporting unit, with the code)."""
        if code in self.bureaus:
            return self.bureaus[code]
        if code in self.regions:
            return f"{self.regions[code]}医疗保障局"
        return f"{self.reporting_unit or self.province} {code}"


def region_names(profile: PolicyProfile) -> RegionNames:
    """The names beside the profile's file (``regions/<province_code>.yaml``); without a file (a
    province that supplies none), the codes stand for the names and the province is named by its code."""
    code = profile.province_code
    path = Path(profile.source_file).parent / "regions" / f"{code}.yaml"  # beside its profile
    if not path.is_file():
        return RegionNames(province_code=code, province=code, reporting_unit="", regions={})
    return _parsed(_names_from_bytes, str(path), path.read_bytes())


def _names_from_bytes(path: Path, content: bytes) -> RegionNames:
    try:
        return RegionNames(**yaml.safe_load(content.decode("utf-8")))
    except (ValidationError, TypeError) as error:
        raise ValueError(f"{path}: not a region-names file ({error}); see assets/policy/profiles/regions/") from None
