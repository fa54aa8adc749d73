"""Region eligibility and the 300号 size classes, with hand-computed expectations."""

import pytest

from tests.scenario import D, Scenario


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    s = Scenario(tmp_path_factory.mktemp("region"))
    # 340100: 600.00 / 100.00 = 6.0 months -> not strictly greater than 6
    s.reserve("340100", "2022-07", "600.00")
    # 340200: 601.00 / 100.00 = 6.01 months -> eligible
    s.reserve("340200", "2022-07", "601.00")
    # 340300: the latest row before Anhui's first period (2022-08) is 2022-07 (7.0), not 2022-09 (2.0)
    s.reserve("340300", "2022-06", "500.00")
    s.reserve("340300", "2022-07", "700.00")
    s.reserve("340300", "2022-09", "200.00")
    # 340400: only a row dated in the first period itself -> no row before it -> missing
    s.reserve("340400", "2022-08", "900.00")
    # 340500: no reserve row at all
    for i, region in enumerate(["340100", "340200", "340300", "340400", "340500"], start=1):
        s.unit(f"R{i}", i, region=region, unit_type="individual_business", prefix="92")
    # Enterprises in an eligible region, one per size case.
    cases = {
        # industry (C): X cap 1000, Y cap 40000万 = 400,000,000 yuan: at both caps -> large
        "S1": dict(employees="1000", operating_revenue="400000000.00", industry_code="C1310"),
        # one indicator (Y) a fen below its cap -> SME; X>=300 and Y>=20,000,000 -> medium
        "S2": dict(employees="1000", operating_revenue="399999999.99", industry_code="C1310"),
        # medium needs every medium bound: Y below 2000万 -> small (X>=20, Y>=300万)
        "S3": dict(employees="300", operating_revenue="19999999.99", industry_code="C1310"),
        # retail (F52): micro by one indicator, X = 9 < 10 although Y is medium-sized
        "S4": dict(employees="9", operating_revenue="5000000.00", industry_code="F5211"),
        # construction (E): Y and Z at their caps (80000万) -> large
        "S5": dict(operating_revenue="800000000.00", total_assets="800000000.00", industry_code="E4710"),
        # construction: Z a fen below its cap -> medium (Y>=6000万, Z>=5000万)
        "S6": dict(operating_revenue="800000000.00", total_assets="799999999.99", industry_code="E4710"),
        # real-estate development (K7010): Y 1000万 and Z 5000万 at the medium bounds -> medium
        "S7": dict(operating_revenue="10000000.00", total_assets="50000000.00", industry_code="K7010"),
        # property management (K702, longest prefix): X=100 >= small 100, Y=500万 >= small 500 -> small
        "S8": dict(employees="100", operating_revenue="5000000.00", industry_code="K7020"),
        # employees only ("other", e.g. M73): X=300 at the cap -> large; X=99 -> small
        "S9": dict(employees="300", industry_code="M7320"),
        "S10": dict(employees="99", industry_code="M7320"),
        # industry row missing Y: indicators cannot classify -> the commitment's declared size
        "S11": dict(employees="50", industry_code="C1310"),
        # no industry code on the row nor the unit -> indicators cannot classify, no commitment -> none
        "S12": dict(employees="50"),
    }
    for i, (unit_id, indicators) in enumerate(cases.items(), start=20):
        code = s.unit(unit_id, i, region="340200")
        s.add("sme_classifications", uscc=code, as_of="2022-03-31", source="statistics", **indicators)
    # register: the latest row's size_class counts, not an older one
    code = s.unit("S13", 40, region="340200")
    s.add("sme_classifications", uscc=code, as_of="2020-12-31", size_class="large", source="statistics")
    s.add("sme_classifications", uscc=code, as_of="2022-03-31", size_class="small", source="statistics")
    s.add(
        "commitments",
        commitment_id="C11",
        unit_id="S11",
        uscc=[r for r in s.tables["units"] if r["unit_id"] == "S11"][0]["uscc"],
        declared_size_class="micro",
        declared_unit_type="enterprise",
        requested_from="2022-08",
        requested_to="2022-10",
        signed_on="2022-07-15",
    )
    s.contribution("R1", "11010519491231002X", "2022-10", "350.00")
    return s.run(as_of="2022-10")


def test_months_payable_threshold_is_strict(outputs):
    regions = outputs.by("region_eligibility", "region_code")
    assert (regions["340100"]["months_payable"], regions["340100"]["eligible"]) == (D("6.0000"), False)
    assert regions["340100"]["region_reason"] == "region_reserve_insufficient"
    assert (regions["340200"]["months_payable"], regions["340200"]["eligible"]) == (D("6.0100"), True)


def test_latest_row_before_first_period(outputs):
    r = outputs.by("region_eligibility", "region_code")["340300"]
    assert (r["as_of_month"], r["months_payable"], r["eligible"]) == ("2022-07", D("7.0000"), True)


def test_missing_reserve_rows(outputs):
    regions = outputs.by("region_eligibility", "region_code")
    assert regions["340400"]["region_reason"] == "region_reserve_missing"
    assert regions["340500"]["region_reason"] == "region_reserve_missing"
    decisions = outputs.by("deferral_decisions", "unit_id")
    assert [decisions[u]["reason"] for u in ("R1", "R2", "R3", "R4", "R5")] == [
        "region_reserve_insufficient",
        "eligible_individual_business",
        "eligible_individual_business",
        "region_reserve_missing",
        "region_reserve_missing",
    ]


@pytest.mark.parametrize(
    "unit_id,size,classification",
    [
        ("S1", "large", "indicators"),
        ("S2", "medium", "indicators"),
        ("S3", "small", "indicators"),
        ("S4", "micro", "indicators"),
        ("S5", "large", "indicators"),
        ("S6", "medium", "indicators"),
        ("S7", "medium", "indicators"),
        ("S8", "small", "indicators"),
        ("S9", "large", "indicators"),
        ("S10", "small", "indicators"),
        ("S11", "micro", "commitment"),
        ("S12", None, "none"),
        ("S13", "small", "register"),
    ],
)
def test_size_classes(outputs, unit_id, size, classification):
    row = outputs.by("sme_classification", "unit_id")[unit_id]
    assert (row["size_class"], row["classification"]) == (size, classification)


def test_size_decides_the_reason(outputs):
    decisions = outputs.by("deferral_decisions", "unit_id")
    assert decisions["S1"]["reason"] == "large_enterprise" and decisions["S1"]["basis"] is None
    assert (decisions["S2"]["reason"], decisions["S2"]["basis"]) == ("eligible_sme", "auto_list")
    assert (decisions["S11"]["reason"], decisions["S11"]["basis"]) == ("eligible_sme", "commitment")
    assert (decisions["S12"]["reason"], decisions["S12"]["classification"]) == ("unclassified_no_commitment", "none")
