"""Every reason code, windows, the Anhui shift and Shanxi's components and refund election."""

import datetime as dt

import pytest

from tests.scenario import D, Scenario, person

P1, P2 = person(1), person(2)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    s = Scenario(tmp_path_factory.mktemp("decisions"))
    s.reserve("340100", "2022-07", "1000.00")  # 10 months: eligible
    s.reserve("140800", "2022-06", "1000.00")  # Shanxi, first period 2022-07: eligible
    s.reserve("340200", "2022-07", "500.00")  # 5 months: insufficient
    small = dict(as_of="2022-03-31", size_class="small", source="statistics")

    def sme(unit_id, n, region="340100", **kw):
        code = s.unit(unit_id, n, region=region, **kw)
        s.add("sme_classifications", uscc=code, **small)
        return code

    sme("INSUFF", 1, region="340200")
    sme("DEREG", 2, deregistered_on="2022-07-31")  # the day before Anhui's first period
    s.unit("PUBLIC", 3, unit_type="public_institution", prefix="12")
    s.unit("GOV", 4, unit_type="government_agency", prefix="11")
    sme("OPTOUT", 5)
    s.add("elections", unit_id="OPTOUT", election="opt_out", filed_on="2022-07-20")
    sme("LATEOPT", 6)  # opts out after the as-of date: not yet known
    s.add("elections", unit_id="LATEOPT", election="opt_out", filed_on="2022-11-02")
    s.unit("IB", 7, unit_type="individual_business", prefix="92")
    s.unit("FOUND", 8, unit_type="foundation", prefix="53")
    code = s.unit("LARGE", 9)
    s.add("sme_classifications", uscc=code, as_of="2022-03-31", size_class="large", source="statistics")
    s.unit("NONE", 10)
    for unit_id, n, frm, to in [("OUTSIDE", 11, "2023-01", "2023-03"), ("PART", 12, "2022-09", "2022-12")]:
        code = s.unit(unit_id, n)
        s.add(
            "commitments",
            commitment_id=f"C{n}",
            unit_id=unit_id,
            uscc=code,
            declared_size_class="small",
            declared_unit_type="enterprise",
            requested_from=frm,
            requested_to=to,
            signed_on="2022-07-15",
        )
    # Anhui shift: a regular employer_medical payment for 2022-08 moves the window to 09-11
    shift = sme("SHIFT", 13)
    s.payment("PS1", shift, "2022-08", "350.00", "2022-09-15")
    # Shanxi, both components; REFUND elected the refund: window stays 07-09
    refund = sme("REFUND", 14, region="140800")
    s.payment("PR1", refund, "2022-07", "350.00", "2022-08-15")
    s.payment("PR2", refund, "2022-07", "350.00", "2022-08-25", kind="refund")
    s.add("elections", unit_id="REFUND", election="refund_first_period", filed_on="2022-08-05")
    # Shanxi without the election: its first-period payment shifts the window to 08-10
    sxshift = sme("SXSHIFT", 15, region="140800")
    s.payment("PX1", sxshift, "2022-07", "350.00", "2022-08-15")
    for unit_id in ("SHIFT", "PART"):
        for period in ("2022-08", "2022-09", "2022-10"):
            s.contribution(unit_id, P1, period, "350.00")
    for period in ("2022-07", "2022-08", "2022-09", "2022-10"):
        s.contribution("REFUND", P2, period, "350.00", employer_maternity="25.00")
    return s.run(as_of="2022-10")


@pytest.mark.parametrize(
    "unit_id,reason",
    [
        ("INSUFF", "region_reserve_insufficient"),
        ("DEREG", "deregistered_before_window"),
        ("PUBLIC", "ineligible_unit_type"),
        ("GOV", "ineligible_unit_type"),
        ("OPTOUT", "opted_out"),
        ("LATEOPT", "eligible_sme"),
        ("IB", "eligible_individual_business"),
        ("FOUND", "eligible_social_org"),
        ("LARGE", "large_enterprise"),
        ("NONE", "unclassified_no_commitment"),
        ("OUTSIDE", "commitment_outside_window"),
        ("PART", "eligible_sme"),
        ("SHIFT", "eligible_sme"),
    ],
)
def test_reason(outputs, unit_id, reason):
    assert outputs.by("deferral_decisions", "unit_id")[unit_id]["reason"] == reason


def test_filled_columns(outputs):
    d = outputs.by("deferral_decisions", "unit_id")
    assert (d["FOUND"]["size_class"], d["FOUND"]["classification"], d["FOUND"]["basis"]) == (
        None,
        "unit_type",
        "auto_list",
    )
    assert (d["NONE"]["size_class"], d["NONE"]["classification"], d["NONE"]["window_start"]) == (None, "none", None)
    assert (d["LARGE"]["eligible"], d["LARGE"]["basis"], d["LARGE"]["shifted"]) == (False, None, None)
    assert (d["IB"]["window_start"], d["IB"]["window_end"], d["IB"]["shifted"]) == ("2022-08", "2022-10", False)


def test_commitment_window_intersects_the_unit_window(outputs):
    d = outputs.by("deferral_decisions", "unit_id")["PART"]
    # requested 2022-09..2022-12 intersected with 2022-08..2022-10
    assert (d["basis"], d["window_start"], d["window_end"]) == ("commitment", "2022-09", "2022-10")
    ledger = outputs.rows("deferral_ledger", "unit_id = 'PART'")
    assert [r["period"] for r in ledger] == ["2022-09", "2022-10"]


def test_anhui_shift_and_its_later_due_date(outputs):
    d = outputs.by("deferral_decisions", "unit_id")["SHIFT"]
    assert (d["window_start"], d["window_end"], d["shifted"]) == ("2022-09", "2022-11", True)
    # as of 2022-10 only 09 and 10 are ledger rows; 08 was paid, so it is not deferred
    ledger = outputs.rows("deferral_ledger", "unit_id = 'SHIFT'")
    assert [(r["period"], r["deferred_amount"]) for r in ledger] == [("2022-09", D("350.00")), ("2022-10", D("350.00"))]
    dues = {r["due_date"] for r in outputs.rows("repayment_schedule", "unit_id = 'SHIFT'")}
    assert dues == {dt.date(2022, 12, 31)}  # last day of the month after 2022-11


def test_shanxi_refund_election_keeps_the_window_and_defers_both_components(outputs):
    d = outputs.by("deferral_decisions", "unit_id")
    assert (d["REFUND"]["window_start"], d["REFUND"]["window_end"], d["REFUND"]["shifted"]) == (
        "2022-07",
        "2022-09",
        False,
    )
    assert (d["SXSHIFT"]["window_start"], d["SXSHIFT"]["shifted"]) == ("2022-08", True)
    ledger = outputs.rows("deferral_ledger", "unit_id = 'REFUND'", order="period, component")
    assert [
        (
            r["period"],
            r["component"],
            r["assessed_amount"],
            r["paid_amount"],
            r["refunded_amount"],
            r["deferred_amount"],
        )
        for r in ledger
    ] == [
        # 350 assessed - 350 paid + 350 refunded = 350 deferred
        ("2022-07", "employer_maternity", D("25.00"), D("0.00"), D("0.00"), D("25.00")),
        ("2022-07", "employer_medical", D("350.00"), D("350.00"), D("350.00"), D("350.00")),
        ("2022-08", "employer_maternity", D("25.00"), D("0.00"), D("0.00"), D("25.00")),
        ("2022-08", "employer_medical", D("350.00"), D("0.00"), D("0.00"), D("350.00")),
        ("2022-09", "employer_maternity", D("25.00"), D("0.00"), D("0.00"), D("25.00")),
        ("2022-09", "employer_medical", D("350.00"), D("0.00"), D("0.00"), D("350.00")),
    ]
    assert all(r["insured_persons"] == 1 for r in ledger)
    dues = {r["due_date"] for r in outputs.rows("repayment_schedule", "unit_id = 'REFUND'")}
    assert dues == {dt.date(2023, 6, 30)}
