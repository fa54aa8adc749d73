"""Reconciliation kinds and monthly statistics on a two-profile, three-region world, by hand.

Anhui 340100: A1 (small enterprise; P1 100.00 + P2 200.00 a month) and A2 (individual business;
P3 50.00 + P1 20.00); Anhui 349900: A3 (social group; P1 10.00); Shanxi 140800: S1 (micro;
P4 400.00 medical + 40.00 maternity + 100.00 employee share). Nobody pays the employer share in
the window; repayments: A1 08 300.00 on 2022-09-05, A1 09 300.00 on 2022-11-10, A1 10 300.00 on
2022-12-02 (two days after its 2022-11-30 due date), A3 08 15.00 on 2022-10-10 (5.00 too much).
"""

from decimal import Decimal

import pytest

from tests.scenario import D, Scenario, person, uscc

P1, P2, P3, P4 = (person(i) for i in range(1, 5))
UNKNOWN = uscc(99, region="340100")
MONTHS = ["2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("stats"))


def build_world(root, publish: bool = False):
    """The world above, run as of 2022-12 over MONTHS (and published, for the report's tests)."""
    s = Scenario(root)
    for region, month in (("340100", "2022-07"), ("349900", "2022-07"), ("140800", "2022-06")):
        s.reserve(region, month, "1000.00")
    a1 = s.unit("A1", 1)
    s.add("sme_classifications", uscc=a1, as_of="2022-03-31", size_class="small", source="statistics")
    a2 = s.unit("A2", 2, unit_type="individual_business", prefix="92")
    a3 = s.unit("A3", 3, region="349900", unit_type="social_group", prefix="51")
    s1 = s.unit("S1", 4, region="140800")
    s.add("sme_classifications", uscc=s1, as_of="2022-03-31", size_class="micro", source="statistics")
    for period in ("2022-08", "2022-09", "2022-10"):
        s.contribution("A1", P1, period, "100.00", employee_medical="0.00")
        s.contribution("A1", P2, period, "200.00", employee_medical="0.00")
        s.contribution("A2", P3, period, "50.00", employee_medical="0.00")
        s.contribution("A2", P1, period, "20.00", employee_medical="0.00")
        s.contribution("A3", P1, period, "10.00", employee_medical="0.00")
    for period in ("2022-07", "2022-08", "2022-09"):
        s.contribution("S1", P4, period, "400.00", employer_maternity="40.00", employee_medical="100.00")
    s.payment("E07", s1, "2022-07", "100.00", "2022-07-15", component="employee_medical")
    s.payment("E08", s1, "2022-08", "100.00", "2022-08-15", component="employee_medical")
    s.payment("RA1", a1, "2022-08", "300.00", "2022-09-05", kind="repayment")
    s.payment("RA2", a1, "2022-09", "300.00", "2022-11-10", kind="repayment")
    s.payment("RA3", a1, "2022-10", "300.00", "2022-12-02", kind="repayment")
    s.payment("RA4", a3, "2022-08", "15.00", "2022-10-10", kind="repayment")
    register = [(a1, p, "employer_medical", "300.00") for p in ("2022-08", "2022-09", "2022-10")]
    register += [(a2, p, "employer_medical", "70.00") for p in ("2022-08", "2022-09")]  # 10 missing
    register += [(a3, p, "employer_medical", "10.00") for p in ("2022-08", "2022-09", "2022-10")]
    register += [(s1, p, "employer_medical", "400.00") for p in ("2022-07", "2022-08", "2022-09")]
    register += [
        (s1, "2022-07", "employer_maternity", "41.00"),
        (s1, "2022-08", "employer_maternity", "40.00"),
        (s1, "2022-09", "employer_maternity", "40.00"),
    ]
    register += [(a1, "2022-11", "employer_medical", "300.00"), (UNKNOWN, "2022-08", "employer_medical", "99.00")]
    for code, period, component, amount in register:
        s.add("tax_deferral_register", uscc=code, period=period, component=component, deferred_amount=amount)
    out = s.run(as_of="2022-12", months=MONTHS, publish=publish)
    return out, {"A1": a1, "A2": a2, "A3": a3, "S1": s1}


def test_every_discrepancy_kind(world):
    out, codes = world
    got = sorted(
        (
            r["kind"],
            r["uscc"],
            r["unit_id"],
            r["region_code"],
            r["period"],
            r["component"],
            r["health_amount"],
            r["tax_amount"],
            r["difference"],
        )
        for r in out.rows("reconciliation_discrepancies")
    )
    assert got == sorted(
        [
            (
                "amount_mismatch",
                codes["S1"],
                "S1",
                "140800",
                "2022-07",
                "employer_maternity",
                D("40.00"),
                D("41.00"),
                D("-1.00"),
            ),
            (
                "missing_in_tax",
                codes["A2"],
                "A2",
                "340100",
                "2022-10",
                "employer_medical",
                D("70.00"),
                None,
                D("70.00"),
            ),
            (
                "missing_in_health",
                codes["A1"],
                "A1",
                "340100",
                "2022-11",
                "employer_medical",
                None,
                D("300.00"),
                D("-300.00"),
            ),
            ("missing_in_health", UNKNOWN, None, None, "2022-08", "employer_medical", None, D("99.00"), D("-99.00")),
            (
                "overpayment",
                codes["A3"],
                "A3",
                "349900",
                "2022-08",
                "employer_medical",
                D("10.00"),
                D("15.00"),
                D("-5.00"),
            ),
            (
                "employee_share_unpaid",
                codes["S1"],
                "S1",
                "140800",
                "2022-09",
                "employee_medical",
                D("100.00"),
                D("0.00"),
                D("100.00"),
            ),
        ]
    )


def test_deferral_plan(world):
    out, _ = world
    plan = out.rows("deferral_plan", "unit_id = 'A1'")
    assert [(r["period"], r["planned_deferral"], str(r["due_date"])) for r in plan] == [
        ("2022-08", D("300.00"), "2022-11-30"),
        ("2022-09", D("300.00"), "2022-11-30"),
        ("2022-10", D("300.00"), "2022-11-30"),
    ]


FIELDS = [
    "units_deferring",
    "persons_covered",
    "deferred_amount",
    "cumulative_deferred",
    "repaid_in_month",
    "cumulative_repaid",
    "outstanding",
    "overdue_outstanding",
    "late_fee",
    "tax_units_deferring",
    "tax_deferred_amount",
    "discrepancies",
    "reconciled",
]


def row(*values):
    return dict(zip(FIELDS, [v if isinstance(v, (bool, int)) else Decimal(v) for v in values]))


EXPECTED = {
    # Shanxi alone in July: deferred 400 + 40 against the register's 400 + 41 -> not reconciled
    ("2022-07", "140800", "all"): row(
        1, 1, "440.00", "440.00", "0.00", "0.00", "440.00", "0.00", "0.00", 1, "441.00", 1, False
    ),
    ("2022-07", "140000", "micro"): row(
        1, 1, "440.00", "440.00", "0.00", "0.00", "440.00", "0.00", "0.00", 1, "441.00", 1, False
    ),
    ("2022-07", "140800", "small"): row(
        0, 0, "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", 0, "0.00", 0, True
    ),
    # September: A1 300 + A2 70; persons P1, P2, P3; RA1 (300, paid 09-05) repaid this month
    ("2022-09", "340100", "all"): row(
        2, 3, "370.00", "740.00", "300.00", "300.00", "440.00", "0.00", "0.00", 2, "370.00", 0, True
    ),
    ("2022-09", "340100", "small"): row(
        1, 2, "300.00", "600.00", "300.00", "300.00", "300.00", "0.00", "0.00", 1, "300.00", 0, True
    ),
    ("2022-09", "340100", "individual_business"): row(
        1, 2, "70.00", "140.00", "0.00", "0.00", "140.00", "0.00", "0.00", 1, "70.00", 0, True
    ),
    ("2022-09", "349900", "social_org"): row(
        1, 1, "10.00", "20.00", "0.00", "0.00", "20.00", "0.00", "0.00", 1, "10.00", 0, True
    ),
    # the province counts P1 once although P1 is covered in both regions
    ("2022-09", "340000", "all"): row(
        3, 3, "380.00", "760.00", "300.00", "300.00", "460.00", "0.00", "0.00", 3, "380.00", 0, True
    ),
    # S1's employee share for 09 is unpaid
    ("2022-09", "140000", "all"): row(
        1, 1, "440.00", "1320.00", "0.00", "0.00", "1320.00", "0.00", "0.00", 1, "440.00", 1, False
    ),
    # November: RA2 (11-10) counts, RA3 (12-02) does not; due 11-30 = as-of: pending, not overdue;
    # tax registered A1 for 11, outside its window (missing_in_health)
    ("2022-11", "340100", "all"): row(
        0, 0, "0.00", "1110.00", "300.00", "600.00", "510.00", "0.00", "0.00", 1, "300.00", 1, False
    ),
    ("2022-11", "349900", "all"): row(
        0, 0, "0.00", "30.00", "0.00", "10.00", "20.00", "0.00", "0.00", 0, "0.00", 0, True
    ),
    ("2022-11", "340000", "all"): row(
        0, 0, "0.00", "1140.00", "300.00", "610.00", "530.00", "0.00", "0.00", 1, "300.00", 1, False
    ),
    # December: RA3 two days late: 300 x 0.0005 x 2 = 0.30; A2 31 days overdue: 3 x round(70 x 0.0005 x 31
    # = 1.085) = 3 x 1.09 = 3.27; A3: 2 x round(10 x 0.0005 x 31 = 0.155) = 0.32
    ("2022-12", "340100", "all"): row(
        0, 0, "0.00", "1110.00", "300.00", "900.00", "210.00", "210.00", "3.57", 0, "0.00", 0, True
    ),
    ("2022-12", "340000", "all"): row(
        0, 0, "0.00", "1140.00", "300.00", "910.00", "230.00", "230.00", "3.89", 0, "0.00", 0, True
    ),
    ("2022-12", "140800", "all"): row(
        0, 0, "0.00", "1320.00", "0.00", "0.00", "1320.00", "0.00", "0.00", 0, "0.00", 0, True
    ),
}


@pytest.mark.parametrize("month,region,category", list(EXPECTED), ids=["/".join(k) for k in EXPECTED])
def test_monthly_statistics(world, month, region, category):
    out, _ = world
    rows = out.rows("monthly_statistics", f"region_code = '{region}' AND category = '{category}'", month=month)
    assert len(rows) == 1
    assert {f: rows[0][f] for f in FIELDS} == EXPECTED[(month, region, category)]


def test_rows_cover_every_region_category_and_profile_month(world):
    out, _ = world
    july = {(r["region_code"], r["category"]) for r in out.rows("monthly_statistics", month="2022-07")}
    # Anhui's first period is 2022-08: no Anhui rows in July
    assert {r for r, _ in july} == {"140800", "140000"}
    august = out.rows("monthly_statistics", month="2022-08")
    assert len(august) == 5 * 6  # 340100, 349900, 340000, 140800, 140000 x six categories
