"""City measures (SPEC section 8): a region's own lump-sum date or instalments, in both profiles.

The bundled profiles are copied and given these measures (filed_as shortened to M-…):
- 340100 M-HF: 3 instalments, filed 2022-09-15 (D1: the province's date, 2022-11-30).
- 340200 M-WH: a lump sum on 2023-01-31, filed 2022-08-01.
- 340300 M-BB: 3 instalments, filed 2022-12-10, after the province's due date 2022-11-30.
- 340400 M-HN1: a lump sum on 2023-01-31, filed 2022-08-01; replaced by M-HN2 (2 instalments) from 2022-10-15.
- 340500 M-MAS: 12 instalments, filed 2022-08-01.
- 140800 M-YC (Shanxi): 2 instalments, first due 2023-06-30, filed 2022-08-01.
- 140100 M-TY (Shanxi): a lump sum on 2023-09-30 (after the province's 2023-06-30), filed 2022-08-01.
341000 has none (the province's terms). Anhui's window is 2022-08..10 (due 2022-11-30); nobody pays
in the window; the late fee is 0.0005 a day. Every figure below is worked out by hand from SPEC 8.
"""

import datetime as dt
import shutil
from decimal import Decimal

import duckdb
import pytest
from openpyxl import load_workbook

from assets.profiles import DEFAULT_PROFILES_DIR, PolicyProfile
from tests.scenario import Scenario, person

A, B, P1, P2, P3, P4, P5, P6, P7, P8 = (person(i) for i in range(31, 41))
MEASURES = {
    "anhui-2022.yaml": """
city_measures:
  - region_code: "340100"
    filed_as: "M-HF"
    filed_on: 2022-09-15
    repayment: {kind: instalments, instalments: 3}
  - region_code: "340200"
    filed_as: "M-WH"
    filed_on: 2022-08-01
    repayment: {kind: lump_sum, first_due: 2023-01-31}
  - region_code: "340300"
    filed_as: "M-BB"
    filed_on: 2022-12-10
    repayment: {kind: instalments, instalments: 3}
  - region_code: "340400"
    filed_as: "M-HN1"
    filed_on: 2022-08-01
    repayment: {kind: lump_sum, first_due: 2023-01-31}
  - region_code: "340400"
    filed_as: "M-HN2"
    filed_on: 2022-10-15
    repayment: {kind: instalments, instalments: 2}
  - region_code: "340500"
    filed_as: "M-MAS"
    filed_on: 2022-08-01
    repayment: {kind: instalments, instalments: 12}
""",
    "shanxi-2022.yaml": """
city_measures:
  - region_code: "140100"
    filed_as: "M-TY"
    filed_on: 2022-08-01
    repayment: {kind: lump_sum, first_due: 2023-09-30}
  - region_code: "140800"
    filed_as: "M-YC"
    filed_on: 2022-08-01
    repayment: {kind: instalments, instalments: 2, first_due: 2023-06-30}
""",
}
MONTHS = ["2022-09", "2022-11", "2022-12", "2023-02"]


def D(value: str) -> Decimal:
    return Decimal(value)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def profiles_with_measures(folder):
    shutil.copytree(DEFAULT_PROFILES_DIR, folder, ignore=shutil.ignore_patterns("examples"))
    for name, block in MEASURES.items():
        with open(folder / name, "a", encoding="utf-8") as fh:
            fh.write(block)
    return folder


def measures_world(root, profiles):
    s = Scenario(root)
    for region in ("340100", "340200", "340300", "340400", "340500", "341000"):
        s.reserve(region, "2022-07", "1000.00")
    s.reserve("140800", "2022-06", "1000.00")
    s.reserve("140100", "2022-06", "1000.00")
    small = dict(as_of="2022-03-31", size_class="small", source="statistics")
    units = {
        "H3": ("340100", {}),
        "W": ("340200", {}),
        "M3": ("340300", {}),
        "R": ("340400", {}),
        "D12": ("340500", {"deregistered_on": "2022-12-10"}),
        "DR3": ("340100", {"deregistered_on": "2022-12-15"}),
        "PL": ("341000", {}),
        "SX2": ("140800", {}),
        "TY": ("140100", {}),
    }
    codes = {}
    for n, (unit, (region, extra)) in enumerate(units.items(), start=1):
        codes[unit] = s.unit(unit, 40 + n, region=region, **extra)
        s.add("sme_classifications", uscc=codes[unit], **small)
    no_share = {"employee_medical": "0.00"}
    s.contribution("H3", P1, "2022-10", "100.01", **no_share)
    s.payment("H3R", codes["H3"], "2022-10", "50.00", "2022-11-20", kind="repayment")
    s.contribution("W", A, "2022-08", "100.00", **no_share)
    s.contribution("W", B, "2022-08", "100.00", **no_share)
    s.add("employee_events", unit_id="W", person_id=A, event_type="departure", event_date="2022-12-15")
    s.add("employee_events", unit_id="W", person_id=B, event_type="departure", event_date="2023-02-10")
    s.contribution("M3", P2, "2022-08", "300.00", **no_share)
    s.contribution("R", P3, "2022-08", "50.01", **no_share)
    s.contribution("D12", P4, "2022-08", "12.00", **no_share)
    s.payment("D12R", codes["D12"], "2022-08", "5.00", "2022-12-20", kind="repayment")
    s.contribution("DR3", P5, "2022-08", "90.00", **no_share)
    s.contribution("PL", P6, "2022-08", "80.00", **no_share)
    s.contribution("SX2", P7, "2022-07", "100.00", employer_maternity="10.01", **no_share)
    s.contribution("TY", P8, "2022-08", "60.00", employer_maternity="6.00", **no_share)
    # a large enterprise in a region with a measure: not eligible, no terms
    large = s.unit("LG", 60, region="340100")
    s.add("sme_classifications", uscc=large, as_of="2022-03-31", size_class="large", source="statistics")
    s.run(as_of="2023-02", profiles_dir=str(profiles), months=MONTHS, publish=True)
    return codes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("measures")
    profiles = profiles_with_measures(base / "profiles")
    codes = measures_world(base / "data", profiles)
    return base / "data", codes


def rows(root, asset: str, month: str, where: str = "TRUE") -> list[dict]:
    rel = duckdb.sql(
        f"SELECT * FROM read_parquet('{root}/warehouse/policy/{asset}/{month}/*.parquet') WHERE {where} ORDER BY ALL"
    )
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]


def schedule(root, unit: str, month: str) -> list[tuple]:
    found = rows(root, "repayment_schedule", month, f"unit_id = '{unit}'")
    found.sort(key=lambda r: (r["due_date"], r["obligation_id"].rsplit("|", 1)[0], r["instalment"] or 0))
    return [
        (r["obligation_id"], r["amount"], r["due_date"], r["repaid_amount"], r["status"], r["late_fee"]) for r in found
    ]


def decision(root, unit: str, month: str) -> tuple:
    (d,) = rows(root, "deferral_decisions", month, f"unit_id = '{unit}'")
    return d["repayment_terms"], d["measure"], d["unit_due_date"]


def test_three_instalments_with_the_remaining_fen_on_the_first_and_a_partial_repayment(world):
    root, _ = world
    # 100.01 = 10001 fen: 3333 fen each, the remaining 2 fen on instalment 1 -> 33.35, 33.33, 33.33;
    # due 2022-11-30 (D1), 2022-12-31, 2023-01-31. H3R 50.00 (2022-11-20) fills 33.35 and 16.65 of the second.
    assert decision(root, "H3", "2022-12") == ("instalments:3", "M-HF", day("2022-11-30"))
    assert schedule(root, "H3", "2022-12") == [
        ("H3|2022-10|employer_medical|unit|1", D("33.35"), day("2022-11-30"), D("33.35"), "paid", D("0.00")),
        ("H3|2022-10|employer_medical|unit|2", D("33.33"), day("2022-12-31"), D("16.65"), "partially_paid", D("0.00")),
        ("H3|2022-10|employer_medical|unit|3", D("33.33"), day("2023-01-31"), D("0.00"), "pending", D("0.00")),
    ]
    (status,) = rows(root, "unit_status", "2022-12", "unit_id = 'H3'")
    assert status["status"] == "repaying"  # instalments remain and none is overdue
    notices = {(n["kind"], n["instalment_label"]) for n in rows(root, "repayment_notices", "2022-12", "unit_id = 'H3'")}
    assert notices == {("due_now", "第 2 期，共 3 期"), ("due_next_month", "第 3 期，共 3 期")}
    # as of 2023-02-28 two instalments are overdue: 16.68 x 0.0005 x 59 days = 0.49206 -> 0.49,
    # 33.33 x 0.0005 x 28 days = 0.46662 -> 0.47
    assert [(r[0][-1], r[4], r[5]) for r in schedule(root, "H3", "2023-02")] == [
        ("1", "paid", D("0.00")),
        ("2", "overdue", D("0.49")),
        ("3", "overdue", D("0.47")),
    ]
    (status,) = rows(root, "unit_status", "2023-02", "unit_id = 'H3'")
    assert (status["status"], status["overdue_amount"], status["late_fee"]) == ("in_arrears", D("50.01"), D("0.96"))


def test_a_later_lump_sum_date_and_departures_before_and_after_it(world):
    root, _ = world
    # D1 = 2023-01-31: A leaves on 2022-12-15 (after the province's 2022-11-30, before D1): A's share 100.00
    # due 2022-12-31; B leaves on 2023-02-10, after D1: no obligation of B's, the unit owes the rest
    assert decision(root, "W", "2022-11") == ("lump_sum", "M-WH", day("2023-01-31"))
    found = rows(root, "repayment_schedule", "2023-02", "unit_id = 'W'")
    assert sorted((r["trigger"], r["amount"], r["due_date"], r["instalment"], r["measure"]) for r in found) == [
        ("deferral_end", D("100.00"), day("2023-01-31"), None, "M-WH"),
        ("departure", D("100.00"), day("2022-12-31"), None, "M-WH"),
    ]
    unit_row = next(r for r in found if r["trigger"] == "deferral_end")
    assert unit_row["obligation_id"] == "W|2022-08|employer_medical|unit"  # a lump sum keeps today's id
    # as of 2022-12 the province's date has passed but the measure's has not: nothing overdue
    assert {r["status"] for r in rows(root, "repayment_schedule", "2022-12", "unit_id = 'W'")} == {"pending"}


def test_a_measure_filed_after_the_province_due_date(world):
    root, _ = world
    # 2022-11: not yet filed -> the province's lump sum due 2022-11-30, due on D: not overdue
    assert decision(root, "M3", "2022-11") == ("lump_sum", None, day("2022-11-30"))
    assert schedule(root, "M3", "2022-11") == [
        ("M3|2022-08|employer_medical|unit", D("300.00"), day("2022-11-30"), D("0.00"), "pending", D("0.00"))
    ]
    # 2022-12: filed 2022-12-10 -> 3 x 100.00; instalment 1 (due 2022-11-30) is overdue at once, its fee from
    # its own due date: 100.00 x 0.0005 x 31 = 1.55
    assert decision(root, "M3", "2022-12") == ("instalments:3", "M-BB", day("2022-11-30"))
    assert schedule(root, "M3", "2022-12") == [
        ("M3|2022-08|employer_medical|unit|1", D("100.00"), day("2022-11-30"), D("0.00"), "overdue", D("1.55")),
        ("M3|2022-08|employer_medical|unit|2", D("100.00"), day("2022-12-31"), D("0.00"), "pending", D("0.00")),
        ("M3|2022-08|employer_medical|unit|3", D("100.00"), day("2023-01-31"), D("0.00"), "pending", D("0.00")),
    ]


def test_a_second_measure_replaces_the_first_from_its_date(world):
    root, _ = world
    assert decision(root, "R", "2022-09") == ("lump_sum", "M-HN1", day("2023-01-31"))
    assert decision(root, "R", "2022-11") == ("instalments:2", "M-HN2", day("2022-11-30"))
    # 50.01 = 5001 fen: 2500 each, 1 fen on instalment 1 -> 25.01 (2022-11-30), 25.00 (2022-12-31);
    # as of 2022-12: 25.01 x 0.0005 x 31 = 0.387655 -> 0.39
    assert schedule(root, "R", "2022-12") == [
        ("R|2022-08|employer_medical|unit|1", D("25.01"), day("2022-11-30"), D("0.00"), "overdue", D("0.39")),
        ("R|2022-08|employer_medical|unit|2", D("25.00"), day("2022-12-31"), D("0.00"), "pending", D("0.00")),
    ]


def test_a_deregistration_caps_the_instalments_and_numbers_order_as_numbers(world):
    root, _ = world
    # DR3: 90.00 in 3 x 30.00, due 2022-11-30, 2022-12-31, 2023-01-31; deregistered 2022-12-15 caps the last two
    found = rows(root, "repayment_schedule", "2023-02", "unit_id = 'DR3'")
    assert sorted((r["instalment"], r["amount"], r["due_date"], r["trigger"]) for r in found) == [
        (1, D("30.00"), day("2022-11-30"), "deferral_end"),
        (2, D("30.00"), day("2022-12-15"), "deregistration"),
        (3, D("30.00"), day("2022-12-15"), "deregistration"),
    ]
    # D12: 12.00 in 12 x 1.00, deregistered 2022-12-10: instalments 2..12 all due 2022-12-10. D12R 5.00 fills
    # instalment 1 (due first), then 2, 3, 4, 5 -- 10, 11 and 12 come after 9, not before 2
    found = rows(root, "repayment_schedule", "2023-02", "unit_id = 'D12'")
    assert sorted((r["instalment"], r["repaid_amount"]) for r in found) == [
        (i, D("1.00") if i <= 5 else D("0.00")) for i in range(1, 13)
    ]
    assert {r["instalments"] for r in found} == {12} and {r["due_date"] for r in found if r["instalment"] > 1} == {
        day("2022-12-10")
    }


def test_shanxi_first_due_with_two_instalments_per_component(world):
    root, _ = world
    assert decision(root, "SX2", "2023-02") == ("instalments:2", "M-YC", day("2023-06-30"))
    found = rows(root, "repayment_schedule", "2023-02", "unit_id = 'SX2'")
    assert sorted((r["component"], r["instalment"], r["amount"], r["due_date"]) for r in found) == [
        ("employer_maternity", 1, D("5.01"), day("2023-06-30")),
        ("employer_maternity", 2, D("5.00"), day("2023-07-31")),
        ("employer_medical", 1, D("50.00"), day("2023-06-30")),
        ("employer_medical", 2, D("50.00"), day("2023-07-31")),
    ]


def test_shanxi_a_later_lump_sum_date(world):
    root, _ = world
    assert decision(root, "TY", "2023-02") == ("lump_sum", "M-TY", day("2023-09-30"))
    found = rows(root, "repayment_schedule", "2023-02", "unit_id = 'TY'")
    assert sorted((r["obligation_id"], r["amount"], r["due_date"], r["instalment"], r["measure"]) for r in found) == [
        ("TY|2022-08|employer_maternity|unit", D("6.00"), day("2023-09-30"), None, "M-TY"),
        ("TY|2022-08|employer_medical|unit", D("60.00"), day("2023-09-30"), None, "M-TY"),
    ]


def test_the_province_terms_where_no_measure_and_null_for_ineligible(world):
    root, _ = world
    assert decision(root, "PL", "2023-02") == ("lump_sum", None, day("2022-11-30"))
    assert decision(root, "LG", "2023-02") == (None, None, None)
    (r,) = rows(root, "repayment_schedule", "2023-02", "unit_id = 'PL'")
    assert (r["obligation_id"], r["instalment"], r["instalments"], r["measure"]) == (
        "PL|2022-08|employer_medical|unit",
        None,
        None,
        None,
    )


def test_published_columns_report_notes_and_notice_lists(world):
    root, _ = world
    published = root / "published"
    cols = duckdb.sql(f"SELECT * FROM read_parquet('{published}/repayment_schedule/*.parquet') LIMIT 0").columns
    assert cols[-3:] == ["instalment", "instalments", "measure"]
    cols = duckdb.sql(f"SELECT * FROM read_parquet('{published}/deferral_decisions/*.parquet') LIMIT 0").columns
    assert cols[-2:] == ["repayment_terms", "measure"]
    notes = load_workbook(published / "report" / "340000" / "2023-02" / "report_340000_2023-02.xlsx")["口径说明"]
    text = " ".join(str(c) for row in notes.iter_rows(values_only=True) for c in row if c)
    assert "市级缓缴办法" in text
    for shown in ("M-HF（2022-09-15 备案）分期补缴 3 期", "M-WH（2022-08-01 备案）一次性补缴，补缴期限 2023-01-31"):
        assert shown in text
    assert "M-HN1" not in text and "M-HN2（2022-10-15 备案）分期补缴 2 期" in text  # replaced
    ws = load_workbook(published / "report" / "340000" / "2023-02" / "notices_340100_2023-02.xlsx")["催缴提醒"]
    values = [c for row in ws.iter_rows(values_only=True) for c in row]
    assert "分期" in values and "第 2–3 期，共 3 期" in values  # H3's two overdue instalments


ENTRY = '{{region_code: "{region}", filed_as: X, filed_on: 2022-09-15, repayment: {terms}}}'


@pytest.mark.parametrize(
    "entry, message",
    [
        (
            ENTRY.format(region="349999", terms="{kind: instalments, instalments: 3}"),
            "city_measures[0] (region 349999, filed as X): region 349999 is not a region of this profile",
        ),
        (
            ENTRY.format(region="340100", terms="{kind: instalments, instalments: 1}"),
            "city_measures[0].repayment.instalments: Input should be greater than or equal to 2",
        ),
        (
            ENTRY.format(region="340100", terms="{kind: instalments, instalments: 13}"),
            "city_measures[0].repayment.instalments: Input should be less than or equal to 12",
        ),
        (
            ENTRY.format(region="340100", terms="{kind: lump_sum, first_due: 2022-10-31}"),
            "city_measures[0] (region 340100, filed as X): first_due 2022-10-31 is not after the window's end "
            "2022-10-31",
        ),
    ],
)
def test_a_bad_measure_stops_the_load_naming_the_file_and_the_entry(tmp_path, entry, message):
    path = tmp_path / "anhui-2022.yaml"
    text = (DEFAULT_PROFILES_DIR / "anhui-2022.yaml").read_text(encoding="utf-8")
    path.write_text(text + f"city_measures:\n  - {entry}\n", encoding="utf-8")
    with pytest.raises(ValueError) as refused:
        PolicyProfile.from_file(path)
    assert str(refused.value) == f"policy profile {path}: {message}"


def test_explain_shows_the_measure_and_the_instalment_arithmetic(world, tmp_path_factory):
    import json

    from typer.testing import CliRunner

    from pipelines.cli import app

    root, _ = world
    env = {"DEFERRAL_PROFILES_DIR": str(root.parent / "profiles")}
    args = ["explain", "--data-dir", str(root), "--unit", "H3", "--as-of", "2022-12"]
    result = CliRunner().invoke(app, [*args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    trail = json.loads(result.output)
    d = trail["decision"]
    assert (d["repayment_terms"], d["measure"], d["unit_due_date"]) == ("instalments:3", "M-HF", "2022-11-30")
    assert d["city_measure"] == {
        "region_code": "340100",
        "filed_as": "M-HF",
        "filed_on": "2022-09-15",
        "repayment": {"kind": "instalments", "instalments": 3, "first_due": None},
        "terms": "instalments:3",
        "profile": "anhui-2022",
        "profile_file": "anhui-2022.yaml",
    }
    assert trail["obligations"]["instalments"] == [
        {
            "period": "2022-10",
            "component": "employer_medical",
            "amount": "100.01",
            "instalments": 3,
            "each": "33.33",
            "first": "33.35",
        }
    ]
    assert [(o["instalment"], o["instalments"], o["measure"]) for o in trail["obligations"]["rows"]] == [
        (1, 3, "M-HF"),
        (2, 3, "M-HF"),
        (3, 3, "M-HF"),
    ]
    text = CliRunner().invoke(app, args, env=env).output
    assert "分期 Instalment 第 2 期，共 3 期 (M-HF)" in text
    assert "100.01 ÷ 3 = 33.33 each, the remaining fen on instalment 1: 33.35" in text


def test_generate_plants_two_measures_a_profile(tmp_path):
    from typer.testing import CliRunner

    from assets.profiles import load_profiles
    from pipelines.cli import app

    result = CliRunner().invoke(app, ["generate", "--data-dir", str(tmp_path), "--measures"])
    assert result.exit_code == 0, result.output
    planted = {
        p.policy_id: [(m.region_code, m.filed_on, m.terms(), m.repayment.first_due) for m in p.city_measures]
        for p in load_profiles(tmp_path / "profiles")
    }
    # on the first two regions the tiny scale gives units and enough reserve (not 340200, 140200: low; not
    # 140100: none): the first in 3 instalments from the first period; the second a lump sum three months
    # after the window's end (Anhui: 2022-10 -> 2023-01-31) or after the fixed date (Shanxi: 2023-06 -> 2023-09-30)
    assert planted == {
        "anhui-2022": [
            ("340100", day("2022-08-01"), "instalments:3", None),
            ("341100", day("2022-09-01"), "lump_sum", day("2023-01-31")),
        ],
        "shanxi-2022": [
            ("140800", day("2022-07-01"), "instalments:3", None),
            ("149900", day("2022-08-01"), "lump_sum", day("2023-09-30")),
        ],
    }
