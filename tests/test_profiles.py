"""Policy profiles are typed: an unknown key, a missing clause or a wrong value is refused by name."""

from decimal import Decimal

import pytest

from assets.profiles import DEFAULT_PROFILES_DIR, PolicyProfile


def _write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _anhui() -> str:
    return (DEFAULT_PROFILES_DIR / "anhui-2022.yaml").read_text(encoding="utf-8")


def test_the_bundled_profiles_load_with_every_clause():
    profile = PolicyProfile.from_file(DEFAULT_PROFILES_DIR / "shanxi-2022.yaml")
    assert (profile.first_period, profile.components, profile.repayment_fixed_date) == (
        "2022-07",
        ("employer_medical", "employer_maternity"),
        "2023-06-30",
    )
    assert len(profile.clauses) == 10 and all(profile.clauses.values())
    assert profile.risk_headcount_ratio == Decimal("0.5") and profile.clauses["risk_headcount_ratio"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t + "normal_due_day:\n  value: last_day_of_month\n  clause: x\n", "normal_due_day: Extra inputs"),
        (lambda t: t.replace("  during_deferral: false\n", "") + "", None),
        (
            lambda t: t.replace('  daily_rate: "0.0005"\n', '  daily_rate: "0.0005"\n  during_deferral: false\n'),
            "late_fee.during_deferral: Extra inputs",
        ),
        (
            lambda t: t.replace("  clause: 皖医保秘〔2022〕67号 一（二） 缓缴期限3个月\n", ""),
            "window_periods.clause: Field required",
        ),
        (lambda t: t.replace('value: "2022-08"', 'value: "2022-8"'), "first_period.value"),
        (lambda t: t.replace("rule: month_after_window", "rule: fixed_date"), "fixed_date needs a date"),
    ],
)
def test_a_profile_with_an_unknown_key_or_a_missing_clause_is_refused(tmp_path, change, message):
    path = _write(tmp_path, change(_anhui()))
    if message is None:
        PolicyProfile.from_file(path)
        return
    with pytest.raises(ValueError, match=message):
        PolicyProfile.from_file(path)


def test_the_window_period_bounds_hold_every_window_of_every_profile():
    # by hand: Anhui's windows start at 2022-08 for 3 periods, a month later when the first period was
    # paid: 2022-08..2022-11 at most; Shanxi's at 2022-07: 2022-07..2022-10. The summary of the persons'
    # assessments (event_person_contributions) keeps 2022-07..2022-11 and nothing else
    import duckdb

    from assets.monthly_sql import window_period_macros

    profiles = [PolicyProfile.from_file(DEFAULT_PROFILES_DIR / f"{p}.yaml") for p in ("anhui-2022", "shanxi-2022")]
    con = duckdb.connect()
    window_period_macros(con, profiles)
    assert con.execute("SELECT window_first_period(), window_last_period()").fetchone() == ("2022-07", "2022-11")
    window_period_macros(con, profiles[:1])
    assert con.execute("SELECT window_first_period(), window_last_period()").fetchone() == ("2022-08", "2022-11")
