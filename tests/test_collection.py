"""Collection and risk (SPEC section 6), hand-computed in both profiles.

Anhui 340100 (window 2022-08..10, every obligation due 2022-11-30, late fee 0.0005 a day), each unit
one person assessed employer_medical 100.00 a period from 2022-08 (no employee share), regular
payments on the 15th for the periods after the window:
- NEXT repays all three periods on 2022-12-10, ten days late (late fee 3 x 100.00 x 0.0005 x 10 = 1.50);
- LATE never repays; EARLY repays everything on 2022-10-20;
- PART repays 100.00 of 08 and 60.00 of 09 on 2022-11-20 (40.00 of 09 and 100.00 of 10 left);
- HALF has three persons until 2022-11 and one in 2022-12 (1 < 0.5 x 3), repays 900.00 on 2022-11-25;
- EVEN has two until 2022-11 and one in 2022-12: exactly half is not fewer, no flag; repays 600.00 on 2022-11-25;
- STOP repays on 2022-11-25 and pays no regular contribution for 2022-12;
- GONE is assessed 08..10 only and deregisters on 2022-11-10: its due dates become 2022-11-10.
Shanxi 140800 (window 2022-07..09, due 2023-06-30): SXN never repays; EMP repays on 2023-06-10 and
leaves its 2022-09 employee share (100.00) unpaid.
"""

import datetime as dt
from decimal import Decimal

import pytest

from tests.scenario import Scenario, person

ANHUI = ("NEXT", "LATE", "EARLY", "PART", "HALF", "EVEN", "STOP", "GONE")
STAFF = {"HALF": 3, "EVEN": 2}
MONTHS = ["2022-08", "2022-10", "2022-11", "2022-12", "2023-05", "2023-07"]


def periods(first: str, last: str) -> list[str]:
    out, y, m = [], int(first[:4]), int(first[5:])
    while f"{y}-{m:02d}" <= last:
        out.append(f"{y}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    s = Scenario(tmp_path_factory.mktemp("collection"))
    s.reserve("340100", "2022-07", "1000.00")
    s.reserve("140800", "2022-06", "1000.00")
    small = dict(as_of="2022-03-31", size_class="small", source="statistics")
    codes, n = {}, 0
    for unit in ANHUI:
        n += 1
        extra = {"deregistered_on": "2022-11-10"} if unit == "GONE" else {}
        codes[unit] = s.unit(unit, n, **extra)
        s.add("sme_classifications", uscc=codes[unit], **small)
        staff = [person(10 * n + i) for i in range(STAFF.get(unit, 1))]
        for period in periods("2022-08", "2022-10" if unit == "GONE" else "2022-12"):
            present = staff[:1] if (unit in STAFF and period == "2022-12") else staff
            for p in present:
                s.contribution(unit, p, period, "100.00", employee_medical="0.00")
            if period >= "2022-11" and not (unit == "STOP" and period == "2022-12"):
                s.payment(f"{unit}-{period}", codes[unit], period, f"{100 * len(present)}.00", f"{period}-15")
    repay = {
        "NEXT": ("2022-12-10", {"2022-08": "100.00", "2022-09": "100.00", "2022-10": "100.00"}),
        "EARLY": ("2022-10-20", {"2022-08": "100.00", "2022-09": "100.00", "2022-10": "100.00"}),
        "PART": ("2022-11-20", {"2022-08": "100.00", "2022-09": "60.00"}),
        "HALF": ("2022-11-25", {"2022-08": "300.00", "2022-09": "300.00", "2022-10": "300.00"}),
        "EVEN": ("2022-11-25", {"2022-08": "200.00", "2022-09": "200.00", "2022-10": "200.00"}),
        "STOP": ("2022-11-25", {"2022-08": "100.00", "2022-09": "100.00", "2022-10": "100.00"}),
    }
    for unit, (paid_on, amounts) in repay.items():
        for period, amount in amounts.items():
            s.payment(f"R-{unit}-{period}", codes[unit], period, amount, paid_on, kind="repayment")
    for unit in ("SXN", "EMP"):
        n += 1
        codes[unit] = s.unit(unit, n, region="140800")
        s.add("sme_classifications", uscc=codes[unit], **small)
        p = person(10 * n)
        for period in periods("2022-07", "2023-07"):
            s.contribution(unit, p, period, "100.00", employee_medical="100.00" if unit == "EMP" else "0.00")
            if period >= "2022-10":
                s.payment(f"{unit}-{period}", codes[unit], period, "100.00", f"{period}-15")
            if unit == "EMP" and period != "2022-09":
                s.payment(
                    f"{unit}-E-{period}", codes[unit], period, "100.00", f"{period}-15", component="employee_medical"
                )
    for period in ("2022-07", "2022-08", "2022-09"):
        s.payment(f"R-EMP-{period}", codes["EMP"], period, "100.00", "2023-06-10", kind="repayment")
    out = s.run(as_of="2022-12", months=MONTHS, publish=True)  # published as of 2022-12: that month's lists
    out.codes = codes
    return out


def by_unit(out, table: str, month: str) -> dict:
    return {r["unit_id"]: r for r in out.rows(table, month=month)}


def notices(out, month: str) -> dict:
    return {
        (r["unit_id"], r["kind"]): (
            r["obligations"],
            r["persons"],
            r["outstanding_amount"],
            r["earliest_due_date"],
            r["late_fee"],
            r["as_of_date"],
        )
        for r in out.rows("repayment_notices", month=month)
    }


def flags(out, month: str) -> dict:
    return {
        (r["unit_id"], r["flag"]): (r["outstanding_amount"], r["flags"]) for r in out.rows("risk_watch", month=month)
    }


D = Decimal
NOV30, OCT31, DEC31 = dt.date(2022, 11, 30), dt.date(2022, 10, 31), dt.date(2022, 12, 31)


def test_inside_the_window_units_defer_and_are_reminded_of_next_month(out):
    status = {u: (r["status"], r["regarded_as_paid"]) for u, r in by_unit(out, "unit_status", "2022-10").items()}
    assert status == {
        **{u: ("deferring", True) for u in ANHUI if u != "EARLY"},
        "EARLY": ("repaid", True),
        "SXN": ("repaying", True),
        "EMP": ("repaying", True),
    }  # Shanxi's window ended in 2022-09
    anhui = {k: v for k, v in notices(out, "2022-10").items() if k[0] in ANHUI}
    owed = {"HALF": D("900.00"), "EVEN": D("600.00")}
    assert anhui == {
        (u, "due_next_month"): (3, 0, owed.get(u, D("300.00")), NOV30, D("0.00"), OCT31) for u in ANHUI if u != "EARLY"
    }
    assert not {k: v for k, v in flags(out, "2022-10").items() if k[0] in ANHUI}


def test_on_the_due_date_notices_are_due_now_and_a_deregistered_unit_is_overdue(out):
    status = by_unit(out, "unit_status", "2022-11")
    assert {u: status[u]["status"] for u in ANHUI} == {
        "NEXT": "repaying",
        "LATE": "repaying",
        "PART": "repaying",
        "EARLY": "repaid",
        "HALF": "repaid",
        "EVEN": "repaid",
        "STOP": "repaid",
        "GONE": "in_arrears",
    }
    # GONE: due dates capped at 2022-11-10; 20 days late on 3 x 100.00 = 3 x 1.00
    gone = status["GONE"]
    assert (
        gone["deferred_amount"],
        gone["repaid_amount"],
        gone["outstanding_amount"],
        gone["overdue_amount"],
        gone["late_fee"],
        gone["regarded_as_paid"],
    ) == (D("300.00"), D("0.00"), D("300.00"), D("300.00"), D("3.00"), False)
    got = {k: v for k, v in notices(out, "2022-11").items() if k[0] in ANHUI}
    assert got == {
        ("NEXT", "due_now"): (3, 0, D("300.00"), NOV30, D("0.00"), NOV30),
        ("LATE", "due_now"): (3, 0, D("300.00"), NOV30, D("0.00"), NOV30),
        ("PART", "due_now"): (2, 0, D("140.00"), NOV30, D("0.00"), NOV30),
        ("GONE", "overdue"): (3, 0, D("300.00"), dt.date(2022, 11, 10), D("3.00"), NOV30),
    }
    assert {k: v for k, v in flags(out, "2022-11").items() if k[0] in ANHUI} == {
        ("GONE", "deregistered_with_outstanding"): (D("300.00"), 2),
        ("GONE", "headcount_drop"): (D("300.00"), 2),
    }


def test_after_the_due_date_arrears_late_fees_and_risk_flags(out):
    status = by_unit(out, "unit_status", "2022-12")
    assert {u: (status[u]["status"], status[u]["regarded_as_paid"]) for u in ANHUI} == {
        "NEXT": ("repaid", True),
        "EARLY": ("repaid", True),
        "HALF": ("repaid", True),
        "EVEN": ("repaid", True),
        "STOP": ("repaid", True),
        "LATE": ("in_arrears", False),
        "PART": ("in_arrears", False),
        "GONE": ("in_arrears", False),
    }
    # PART: 40.00 and 100.00 overdue 31 days: 0.62 + 1.55; repaid 160.00 of 300.00
    part = status["PART"]
    assert (part["repaid_amount"], part["outstanding_amount"], part["overdue_amount"], part["late_fee"]) == (
        D("160.00"),
        D("140.00"),
        D("140.00"),
        D("2.17"),
    )
    # NEXT repaid ten days late: repaid, its late fee (3 x 0.50) still shown
    assert (status["NEXT"]["outstanding_amount"], status["NEXT"]["late_fee"]) == (D("0.00"), D("1.50"))
    got = {k: v for k, v in notices(out, "2022-12").items() if k[0] in ANHUI}
    assert got == {
        ("LATE", "overdue"): (3, 0, D("300.00"), NOV30, D("4.65"), DEC31),  # 3 x 100.00 x 0.0005 x 31
        ("PART", "overdue"): (2, 0, D("140.00"), NOV30, D("2.17"), DEC31),
        ("GONE", "overdue"): (3, 0, D("300.00"), dt.date(2022, 11, 10), D("7.65"), DEC31),  # 51 days
    }
    assert {k: v for k, v in flags(out, "2022-12").items() if k[0] in ANHUI} == {
        ("GONE", "deregistered_with_outstanding"): (D("300.00"), 2),
        ("GONE", "headcount_drop"): (D("300.00"), 2),
        ("HALF", "headcount_drop"): (D("0.00"), 1),  # 1 person < 0.5 x 3
        ("STOP", "regular_payment_missing"): (D("0.00"), 1),
    }


def test_shanxi_fixed_due_date_and_employee_share(out):
    assert by_unit(out, "unit_status", "2022-08")["SXN"]["status"] == "deferring"
    assert not [k for k in notices(out, "2022-08") if k[0] in ("SXN", "EMP")]  # due 2023-06-30 is months away
    june30 = dt.date(2023, 6, 30)
    assert {k: v for k, v in notices(out, "2023-05").items() if k[0] in ("SXN", "EMP")} == {
        ("SXN", "due_next_month"): (3, 0, D("300.00"), june30, D("0.00"), dt.date(2023, 5, 31)),
        ("EMP", "due_next_month"): (3, 0, D("300.00"), june30, D("0.00"), dt.date(2023, 5, 31)),
    }
    status = by_unit(out, "unit_status", "2023-07")
    assert (status["SXN"]["status"], status["SXN"]["late_fee"]) == ("in_arrears", D("4.65"))
    assert (status["EMP"]["status"], status["EMP"]["regarded_as_paid"]) == ("repaid", True)
    assert {k: v for k, v in notices(out, "2023-07").items() if k[0] in ("SXN", "EMP")} == {
        ("SXN", "overdue"): (3, 0, D("300.00"), june30, D("4.65"), dt.date(2023, 7, 31))
    }
    assert {k: v for k, v in flags(out, "2023-07").items() if k[0] in ("SXN", "EMP")} == {
        ("EMP", "employee_share_unpaid"): (D("0.00"), 1)
    }


@pytest.mark.parametrize(
    "month, region, in_arrears, flagged",
    [
        ("2022-11", "340100", 1, 1),
        ("2022-11", "340000", 1, 1),
        ("2022-12", "340100", 3, 3),
        ("2022-12", "340000", 3, 3),
        ("2023-07", "140800", 1, 1),
        ("2023-07", "140000", 1, 1),
    ],
)
def test_statistics_count_units_in_arrears_and_flagged(out, month, region, in_arrears, flagged):
    rows = {r["category"]: r for r in out.rows("monthly_statistics", f"region_code = '{region}'", month=month)}
    assert (rows["all"]["units_in_arrears"], rows["all"]["units_flagged"]) == (in_arrears, flagged)
    assert (rows["small"]["units_in_arrears"], rows["small"]["units_flagged"]) == (in_arrears, flagged)
    assert (rows["micro"]["units_in_arrears"], rows["micro"]["units_flagged"]) == (0, 0)


def test_collection_staff_get_one_notice_list_per_region_and_month(out):
    from openpyxl import load_workbook

    folder = out.root / "published" / "report" / "340000" / "2022-12"
    assert sorted(p.name for p in folder.glob("notices_*.xlsx")) == ["notices_340100_2022-12.xlsx"]
    ws = load_workbook(folder / "notices_340100_2022-12.xlsx")["催缴提醒"]
    assert ws["A1"].value == "合肥市阶段性缓缴职工医保费催缴提醒清单（2022年12月）——催缴提醒"
    header = [c.value for c in ws[3]]
    assert header == ["单位名称", "统一社会信用代码", "提醒类型", "应补缴金额", "最早到期日", "滞纳金", "截至日期"]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[1]]
    tie = sorted(["LATE", "GONE"], key=lambda u: out.codes[u])  # equal amounts: by USCC
    # the dates are date cells (shown yyyy-mm-dd)
    assert [(r[0], r[2], r[3], f"{r[4]:%Y-%m-%d}", r[5], f"{r[6]:%Y-%m-%d}") for r in rows] == [
        (
            f"单位{tie[0]}",
            "逾期未缴",
            300,
            "2022-11-30" if tie[0] == "LATE" else "2022-11-10",
            4.65 if tie[0] == "LATE" else 7.65,
            "2022-12-31",
        ),
        (
            f"单位{tie[1]}",
            "逾期未缴",
            300,
            "2022-11-30" if tie[1] == "LATE" else "2022-11-10",
            4.65 if tie[1] == "LATE" else 7.65,
            "2022-12-31",
        ),
        ("单位PART", "逾期未缴", 140, "2022-11-30", 2.17, "2022-12-31"),
    ]
    said = [r[0] for r in ws.iter_rows(min_row=4, values_only=True) if r[0] and not r[1]]
    assert said[0] == "本清单反映截至 2022-12-31 的缴费情况：该日之后的缴费未计入，催缴前请核实。"


def test_published_as_hive_partitions_with_one_row_per_unit_and_month(out):
    import duckdb

    rel = duckdb.connect().sql(
        f"SELECT report_month, count(*), count(DISTINCT unit_id) FROM read_parquet("
        f"'{out.root}/published/unit_status/**/*.parquet', hive_partitioning = true) GROUP BY 1 ORDER BY 1"
    )
    got = {m: (n, distinct) for m, n, distinct in rel.fetchall()}
    assert list(got) == [m for m in MONTHS if m <= "2022-12"] and all(n == distinct for n, distinct in got.values())
