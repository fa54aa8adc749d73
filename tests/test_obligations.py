"""Repayment obligations, allocation, status and late fees, hand-computed from SPEC section 3."""

import datetime as dt
import hashlib
import hmac
import shutil

import pytest

from assets.profiles import DEFAULT_PROFILES_DIR
from assets.settings import DEV_PII_KEY
from tests.scenario import D, Scenario
from tests.worlds import DD, A, C, E, F, obligations_world


def key(person_id: str) -> str:
    return hmac.new(DEV_PII_KEY.encode(), person_id.encode(), hashlib.sha256).hexdigest()[:16]


@pytest.fixture
def december(obligations_published):
    return obligations_published[1]


@pytest.fixture(scope="module")
def november(tmp_path_factory):
    return obligations_world(tmp_path_factory.mktemp("nov")).run(as_of="2022-11")


def obligation(outputs, obligation_id):
    return outputs.by("repayment_schedule", "obligation_id")[obligation_id]


def test_departure_share_pro_rata_half_up(december):
    rows = {r["obligation_id"]: r for r in december.rows("repayment_schedule", "unit_id = 'DEP'")}
    k = key(A)
    # 08: 233.33 x 700.00 / 700.00 = 233.33; 09: 233.33 x 350.00 / 700.00 = 116.665 -> 116.67 (half-up)
    expected = {
        f"DEP|2022-08|employer_medical|{k}": ("departure", D("233.33"), dt.date(2022, 9, 30)),
        f"DEP|2022-09|employer_medical|{k}": ("departure", D("116.67"), dt.date(2022, 9, 30)),
        "DEP|2022-08|employer_medical|unit": ("deferral_end", D("466.67"), dt.date(2022, 11, 30)),
        "DEP|2022-09|employer_medical|unit": ("deferral_end", D("233.33"), dt.date(2022, 11, 30)),
        "DEP|2022-10|employer_medical|unit": ("deferral_end", D("466.67"), dt.date(2022, 11, 30)),
    }
    assert {i: (r["trigger"], r["amount"], r["due_date"]) for i, r in rows.items()} == expected
    assert rows[f"DEP|2022-08|employer_medical|{k}"]["person_key"] == k
    assert rows["DEP|2022-08|employer_medical|unit"]["person_key"] is None


def test_two_repayments_fill_earliest_due_first_with_late_fees(december):
    k = key(A)
    share = obligation(december, f"DEP|2022-09|employer_medical|{k}")
    # RP1 100.00 paid 10 days late; RP2 fills the remaining 16.67, 66 days late:
    # 100 x 0.0005 x 10 + 16.67 x 0.0005 x 66 = 0.5 + 0.55011 = 1.05011 -> 1.05
    assert (share["repaid_amount"], share["outstanding_amount"], share["status"], share["late_fee"]) == (
        D("116.67"),
        D("0.00"),
        "paid",
        D("1.05"),
    )
    rest = obligation(december, "DEP|2022-09|employer_medical|unit")
    # RP2's other 183.33 is 5 days late; 50.00 still out, 31 days overdue at 2022-12-31:
    # 183.33 x 0.0005 x 5 + 50.00 x 0.0005 x 31 = 0.458325 + 0.775 = 1.233325 -> 1.23
    assert (rest["repaid_amount"], rest["outstanding_amount"], rest["status"], rest["late_fee"]) == (
        D("183.33"),
        D("50.00"),
        "overdue",
        D("1.23"),
    )


def test_unpaid_overdue_late_fee(december):
    r = obligation(december, f"DEP|2022-08|employer_medical|{key(A)}")
    # 233.33 x 0.0005 x 92 days (2022-09-30 to 2022-12-31) = 10.73318 -> 10.73
    assert (r["status"], r["outstanding_amount"], r["late_fee"]) == ("overdue", D("233.33"), D("10.73"))


def test_overpayment_surfaced(december):
    paid = obligation(december, "DEP|2022-10|employer_medical|unit")
    assert (paid["repaid_amount"], paid["status"], paid["late_fee"]) == (D("466.67"), "paid", D("0.00"))
    over = december.rows("overpayments")
    assert [(o["unit_id"], o["period"], o["health_amount"], o["tax_amount"], o["difference"]) for o in over] == [
        ("DEP", "2022-10", D("466.67"), D("500.00"), D("-33.33"))
    ]


def test_retirement_and_transfer_both_components(december):
    rows = december.rows("repayment_schedule", "unit_id = 'SX'")
    got = sorted((r["person_key"], r["period"], r["component"], r["trigger"], r["amount"], r["due_date"]) for r in rows)
    c, d, e = key(C), key(DD), key(E)
    want = []
    for period in ("2022-07", "2022-08"):
        want += [
            (c, period, "employer_medical", "retirement", D("300.00"), dt.date(2022, 8, 31)),
            (c, period, "employer_maternity", "retirement", D("20.00"), dt.date(2022, 8, 31)),
        ]
    for period in ("2022-07", "2022-08", "2022-09"):
        want += [
            (d, period, "employer_medical", "transfer_out", D("200.00"), dt.date(2022, 10, 31)),
            (d, period, "employer_maternity", "transfer_out", D("10.00"), dt.date(2022, 10, 31)),
            (e, period, "employer_medical", "departure", D("100.00"), dt.date(2022, 11, 30)),
            (e, period, "employer_maternity", "departure", D("5.00"), dt.date(2022, 11, 30)),
        ]
    # every person left: nothing remains at unit level
    assert got == sorted(want)
    retired = obligation(december, f"SX|2022-07|employer_medical|{c}")
    # 300.00 x 0.0005 x 122 days (2022-08-31 to 2022-12-31) = 18.30
    assert (retired["status"], retired["late_fee"]) == ("overdue", D("18.30"))


def test_deregistration_caps_every_due_date(december):
    rows = {r["obligation_id"]: r for r in december.rows("repayment_schedule", "unit_id = 'DR'")}
    f = key(F)
    assert {i: (r["trigger"], r["amount"], r["due_date"], r["person_key"]) for i, r in rows.items()} == {
        f"DR|2022-08|employer_medical|{f}": ("deregistration", D("100.00"), dt.date(2022, 9, 20), f),
        f"DR|2022-09|employer_medical|{f}": ("deregistration", D("100.00"), dt.date(2022, 9, 20), f),
        "DR|2022-08|employer_medical|unit": ("deregistration", D("200.00"), dt.date(2022, 9, 20), None),
        "DR|2022-09|employer_medical|unit": ("deregistration", D("200.00"), dt.date(2022, 9, 20), None),
    }
    # 200.00 x 0.0005 x 102 days (2022-09-20 to 2022-12-31) = 10.20
    assert rows["DR|2022-08|employer_medical|unit"]["late_fee"] == D("10.20")


def test_due_on_the_as_of_date_is_not_overdue_and_later_facts_are_ignored(november):
    r = obligation(november, "DEP|2022-08|employer_medical|unit")
    assert (r["due_date"], r["status"], r["late_fee"]) == (dt.date(2022, 11, 30), "pending", D("0.00"))
    # RP2 (paid 2022-12-05) is after the as-of date: only RP1's 100.00 counts;
    # 100 x 0.0005 x 10 + 16.67 x 0.0005 x 61 = 0.5 + 0.508435 = 1.008435 -> 1.01
    share = obligation(november, f"DEP|2022-09|employer_medical|{key(A)}")
    assert (share["repaid_amount"], share["status"], share["late_fee"]) == (D("100.00"), "overdue", D("1.01"))
    unit09 = obligation(november, "DEP|2022-09|employer_medical|unit")
    assert (unit09["repaid_amount"], unit09["status"]) == (D("0.00"), "pending")


def test_fund_reserve_status_outstanding(december):
    region = december.by("fund_reserve_status", "region_code")["140800"]
    # SX: every obligation outstanding: C 640.00 + DD 630.00 + E 315.00 = 1,585.00
    # (1000.00 - 1585.00) / 100.00 = -5.85 months
    assert (region["outstanding_deferred"], region["months_payable_after_deferral"]) == (D("1585.00"), D("-5.8500"))


THIRD = """
policy_id: testland-2022
name: test profile
province_code: "990000"
source: test
regions: {value: ["990100"], clause: test 1}
reserve_threshold: {months: 3, strictly_greater: true, clause: test 2}
first_period: {value: "2022-09", clause: test 3}
window_periods: {value: 2, clause: test 4}
components: {value: [employer_medical], clause: test 5}
shift_if_first_period_paid: {value: false, clause: test 6}
refund_first_period_option: {value: false, clause: test 7}
repayment_due: {rule: fixed_date, date: "2023-03-31", clause: test 8}
late_fee: {daily_rate: "0.001", clause: test 9}
"""


def test_a_third_profile_from_a_config_file_alone(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(DEFAULT_PROFILES_DIR, profiles)
    (profiles / "testland-2022.yaml").write_text(THIRD, encoding="utf-8")
    s = Scenario(tmp_path / "data")
    (tmp_path / "data" / "raw").mkdir(parents=True)
    s.reserve("990100", "2022-08", "400.00")  # 4 months > 3
    code = s.unit("T1", 1, region="990100")
    s.add("sme_classifications", uscc=code, as_of="2022-03-31", size_class="micro", source="statistics")
    # paid the first period: this profile does not shift
    s.payment("T0", code, "2022-09", "100.00", "2022-10-15")
    for period in ("2022-09", "2022-10", "2022-11"):
        s.contribution("T1", A, period, "100.00")
    out = s.run(as_of="2023-04", profiles_dir=str(profiles))
    d = out.by("deferral_decisions", "unit_id")["T1"]
    assert (d["policy_id"], d["reason"], d["window_start"], d["window_end"], d["shifted"]) == (
        "testland-2022",
        "eligible_sme",
        "2022-09",
        "2022-10",
        False,
    )
    rows = out.rows("repayment_schedule", "unit_id = 'T1'", order="period")
    # 09 fully paid -> deferred 0, no obligation; 10 deferred 100.00, due 2023-03-31,
    # 30 days overdue at 2023-04-30 at 0.1 % a day: 100 x 0.001 x 30 = 3.00
    assert [(r["period"], r["amount"], r["due_date"], r["late_fee"]) for r in rows] == [
        ("2022-10", D("100.00"), dt.date(2023, 3, 31), D("3.00"))
    ]
