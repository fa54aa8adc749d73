"""Reconciliation kinds and monthly statistics on a two-profile, three-region world, by hand.

Anhui 340100: A1 (small enterprise; P1 100.00 + P2 200.00 a month) and A2 (individual business;
P3 50.00 + P1 20.00); Anhui 349900: A3 (social group; P1 10.00); Shanxi 140800: S1 (micro;
P4 400.00 medical + 40.00 maternity + 100.00 employee share). Nobody pays the employer share in
the window; repayments: A1 08 300.00 on 2022-09-05, A1 09 300.00 on 2022-11-10, A1 10 300.00 on
2022-12-02 (two days after its 2022-11-30 due date), A3 08 15.00 on 2022-10-10 (5.00 too much).
"""

from decimal import Decimal

import pytest

from tests.scenario import D
from tests.worlds import UNKNOWN


@pytest.fixture
def world(statistics_published):
    _, out, codes = statistics_published
    return out, codes


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
