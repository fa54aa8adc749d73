"""The sections of a unit's trail (SPEC section 7), each from the facts trail.sql reads: identity,
classification, region condition, decision and window, ledger, obligations, status and risk.
Every input fact carries its ``source`` (raw file and line); every rule step its profile parameter
and clause (:func:`assets.explain.trail.rule`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from assets.explain.trail import LINES_SHOWN, ExplainError, Trail, late_fee_parts, plain, rule, source
from assets.policy.thresholds import thresholds_source
from assets.profiles import PolicyProfile, RegionNames

SCHEMA = "deferral-explain/1"
PAYMENT_FIELDS = ("payment_id", "paid_on", "allocated", "payment_amount", "source")
# the indicators of the 300号 table: column, its letter, whether the bounds are in 10,000 yuan
INDICATORS = (("employees", "x", False), ("operating_revenue", "y", True), ("total_assets", "z", True))


def build(trail: Trail, profile: PolicyProfile, names: RegionNames, version: str, month: str, as_of: dt.date) -> dict:
    unit = trail.rows("identity")
    if not unit:
        raise _unknown(trail, month)
    unit = unit[0]
    unit["source"] = source(unit)
    decision = trail.one("decision")
    if decision is None:
        raise _unknown(trail, month)
    obligations = _obligations(trail, profile, unit, decision, as_of)
    return {
        "schema": SCHEMA,
        "unit_id": unit["unit_id"],
        "report_month": month,
        "as_of_date": as_of.isoformat(),
        "publication": version,
        "identity": {
            **{k: unit[k] for k in ("unit_id", "uscc", "unit_name", "region_code", "unit_type", "industry_code")},
            "region_name": names.known_name(unit["region_code"]),
            "policy_id": profile.policy_id,
            "policy_name": profile.name,
            "policy_source": profile.source,
            "registered_on": unit["registered_on"],
            "deregistered_on": unit["deregistered_on"],
            "source": unit["source"],
        },
        "classification": _classification(trail, unit, decision),
        "region": _region(trail, profile),
        "decision": _decision(trail, profile, decision, as_of),
        "ledger": _ledger(trail, profile),
        "obligations": obligations,
        "status": next(iter(trail.rows("status")), None),
        "risk_flags": [
            {**r, "rule": rule(profile, "risk_headcount_ratio", profile.risk_headcount_ratio)}
            if r["flag"] == "headcount_drop"
            else r
            for r in trail.rows("risk")
        ],
    }


def _unknown(trail: Trail, month: str) -> ExplainError:
    unit = trail.con.sql("SELECT unit_id, registered_on FROM clean.units").fetchall()
    return ExplainError(f"unit {unit[0][0]} is not known as of {month} (registered on {unit[0][1]})")


def _classification(trail: Trail, unit: dict, decision: dict) -> dict:
    """Every input that could decide the unit's class, which one did, and the result."""
    sme = trail.one("sme") or {}
    register = trail.rows("register")
    for r in register:
        r["source"] = source(r)
    commitments = trail.rows("commitments")
    counted = sme.get("commitment_id")
    for c in commitments:
        c["source"] = source(c)
        c["counted"] = c["commitment_id"] == counted
    result = {
        "unit_type": unit["unit_type"],
        "size_class": decision["size_class"],
        "classification": decision["classification"],
        "basis": decision["basis"],
        "decided_by": _decided_by(decision["classification"], register, counted),
        "register": register,
        "indicators": None,
        "commitments": commitments,
    }
    latest = register[0] if register else None
    if unit["unit_type"] == "enterprise" and latest is not None and latest["size_class"] is None:
        result["indicators"] = _indicators(trail, latest, unit)
    return result


def _decided_by(classification: str, register: list[dict], commitment: str | None) -> dict:
    """Which input decided: the latest register row (its size_class or its indicators), a commitment,
    the unit type, or nothing."""
    if classification in ("register", "indicators"):
        return {"input": classification, "source": register[0]["source"]}
    if classification == "commitment":
        return {"input": "commitment", "commitment_id": commitment}
    return {"input": classification}


def _indicators(trail: Trail, latest: dict, unit: dict) -> dict:
    """The latest register row's indicators against the 300号 row of its industry code (yuan; the table's
    Y and Z are in 10,000 yuan)."""
    code = latest["industry_code"] or unit["industry_code"]
    row = trail.rows("thresholds", industry_code=code)[0] if code else None
    checks = []
    for column, letter, in_wan in INDICATORS:
        if row is None or row[f"{letter}_cap"] is None:
            continue
        scale = 10000 if in_wan else 1
        bounds = {b: row[f"{letter}_{b}"] * scale for b in ("cap", "medium", "small")}
        value = latest[column]
        level = None
        if value is not None:
            v = Decimal(str(value))
            level = next((b for b in ("cap", "medium", "small") if v >= bounds[b]), "below_small")
        checks.append(
            {"indicator": column, "value": plain(value), **{k: str(v) for k, v in bounds.items()}, "reaches": level}
        )
    return {
        "industry_code": code,
        "category": row["category"] if row else None,
        "prefix": row["prefix"] if row else None,
        "checks": checks,
        "rule": {"parameter": "sme_thresholds", "clause": thresholds_source()},
    }


def _region(trail: Trail, profile: PolicyProfile) -> dict:
    reserve = trail.rows("reserve")
    found = reserve[0] if reserve else {}
    return {
        **{k: v for k, v in found.items() if k not in ("source_file", "source_line")},
        "source": {"file": found.get("source_file"), "line": found.get("source_line")}
        if found.get("source_file")
        else None,
        "rule": rule(
            profile,
            "reserve_threshold",
            {"months": profile.reserve_months, "strictly_greater": profile.reserve_strictly_greater},
        ),
    }


def _decision(trail: Trail, profile: PolicyProfile, decision: dict, as_of: dt.date) -> dict:
    """The decision, its reason, the window and why it moved (or stayed), the repayment terms and the
    city measure that set them (SPEC section 8)."""
    elections = trail.rows("elections")
    for e in elections:
        e["source"] = source(e)
    payments = trail.rows("first_period_payments", first_period=profile.first_period)
    for p in payments:
        p["source"] = source(p)
    refund = next((e for e in elections if e["election"] == "refund_first_period"), None)
    if decision["shifted"]:
        why = {"first_period_paid": payments[0]}
    elif payments and refund is not None and profile.refund_first_period_option:
        why = {"first_period_paid": payments[0], "kept_by_refund_election": refund}
    else:
        why = None
    keys = (
        "eligible",
        "reason",
        "basis",
        "window_start",
        "window_end",
        "shifted",
        "unit_due_date",
        "deregistered_on",
        "repayment_terms",
        "measure",
    )
    due = profile.repayment_fixed_date if profile.repayment_rule == "fixed_date" else "month_after_window"
    return {
        **{k: decision[k] for k in keys},
        "window_moved": why,
        "city_measure": _measure(profile, decision, as_of),
        "elections": elections,
        "rules": [
            rule(profile, "first_period", profile.first_period),
            rule(profile, "window_periods", profile.window_periods),
            rule(profile, "shift_if_first_period_paid", profile.shift_if_first_period_paid),
            rule(profile, "refund_first_period_option", profile.refund_first_period_option),
            rule(profile, "repayment_due", due),
        ],
    }


def _measure(profile: PolicyProfile, decision: dict, as_of: dt.date) -> dict | None:
    """The measure the unit's terms come from: its region's latest filed on or before the as-of date (the
    same day: the one listed later), as the profile file holds it."""
    if not decision["measure"]:
        return None
    known = [m for m in profile.city_measures if m.filed_on <= as_of and m.region_code == decision["region_code"]]
    applied = sorted(known, key=lambda m: m.filed_on)[-1]
    return {
        **applied.model_dump(mode="json"),
        "terms": applied.terms(),
        "profile": profile.policy_id,
        "profile_file": Path(profile.source_file).name,
    }


def _ledger(trail: Trail, profile: PolicyProfile) -> dict:
    rows = trail.rows("ledger")
    sources = trail.rows("assessed_sources", lines_shown=LINES_SHOWN)
    payments = trail.rows("period_payments")
    for row in rows:
        row["assessed_from"] = [
            {"file": s["source_file"], "rows": s["rows"], "lines": s["lines"]}
            for s in sources
            if s["period"] == row["period"]
        ]
        row["payments"] = [
            {**{k: p[k] for k in ("payment_kind", "payment_id", "amount", "paid_on")}, "source": source(dict(p))}
            for p in payments
            if (p["period"], p["component"]) == (row["period"], row["component"])
        ]
    return {"rows": rows, "rule": rule(profile, "components", list(profile.components))}


def _obligations(trail: Trail, profile: PolicyProfile, unit: dict, decision: dict, as_of: dt.date) -> dict:
    """Each obligation with its trigger, cap, payments allocated to it and its late fee's arithmetic."""
    allocations = trail.rows("allocations")
    for a in allocations:
        a["source"] = source(a)
    events = trail.rows("events")
    for e in events:
        e["source"] = source(e)
    rate = Decimal(profile.late_fee_daily_rate)
    window_first = f"{decision['window_start']}-01" if decision["window_start"] else None
    out = []
    for o in trail.rows("obligations"):
        paid = [a for a in allocations if a["obligation_id"] == o["obligation_id"]]
        event = None
        if o["person_key"]:
            event = next(
                (
                    e
                    for e in events
                    if e["person_key"] == o["person_key"]
                    and window_first <= e["event_date"] <= decision["unit_due_date"]
                ),
                None,
            )
        capped = o["trigger"] == "deregistration"
        out.append(
            {
                **o,
                "event": event,
                "capped_by": {"deregistered_on": unit["deregistered_on"], "source": unit["source"]} if capped else None,
                "payments": [
                    {k: a[k] for k in ("payment_id", "paid_on", "allocated", "payment_amount", "source")} for a in paid
                ],
                "late_fee_arithmetic": late_fee_parts(o, paid, rate, as_of),
            }
        )
    return {
        "rows": out,
        "instalments": _instalment_arithmetic(out),
        "rules": [rule(profile, "late_fee", {"daily_rate": profile.late_fee_daily_rate})],
    }


def _instalment_arithmetic(obligations: list[dict]) -> list[dict]:
    """Per period and component under instalments (SPEC section 8): the amount A split in k, each
    floor(A x 100 / k) / 100, the remaining fen on instalment 1."""
    out = []
    for period, component in sorted({(o["period"], o["component"]) for o in obligations if o["instalments"]}):
        parts = [o for o in obligations if (o["period"], o["component"]) == (period, component) and o["instalments"]]
        k = parts[0]["instalments"]
        total = sum((Decimal(o["amount"]) for o in parts), Decimal(0))
        each = Decimal(int(total * 100) // k) / 100
        out.append(
            {
                "period": period,
                "component": component,
                "amount": str(total),
                "instalments": k,
                "each": str(each.quantize(Decimal("0.01"))),
                "first": str((total - each * (k - 1)).quantize(Decimal("0.01"))),
            }
        )
    return out
