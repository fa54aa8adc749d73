"""`deferral explain` (SPEC section 7) on a hand-made world in both profiles, published as of 2022-12.

Every value below is worked out by hand from SPEC sections 3 and 5 for this world; each raw row's line
is its place in the table's file (raw/<table>/part.csv, the header is line 1).

Anhui 340100 (window 2022-08..10, due the month after the window, 0.0005 a day), reserve 10 months:
- IND: no register size, indicators 50 employees and revenue 5,000,000.00 yuan, industry C1301 → the
  industry row (prefix C): 20 <= 50 < 300 employees, 3,000,000 <= revenue < 20,000,000 → small. An
  earlier register row (2021, large) does not decide: the latest does.
- COM: no register row; commitment C1 (micro, 2022-08..09) → window 08..09, due 2022-10-31; nothing
  repaid: 300.00 x 0.0005 x 61 days = 9.15 for each period.
- SHF: paid its 2022-08 employer share (PSHF, 2022-08-20) → window 09..11, due 2022-12-31.
- LATE: 1000.00 due 2022-11-30; RL1 333.33 paid 2022-12-05 (5 days late), RL2 200.00 paid 2022-12-20
  (20 days), 466.67 outstanding 31 days at 2022-12-31: 0.833325 + 2.000000 + 7.233385 = 10.066710 → 10.07.
  As of 2022-11 (D = its due date) the same obligation is pending with no late fee.
- DEP: person A (100.00 a period) leaves on 2022-09-10: A's share of 08 and 09 is 100.00 x 300/300 =
  100.00 each, due 2022-09-30; the unit's own 200.00 a period is due 2022-11-30.
- DR: deregisters on 2022-10-15: its 150.00 for 08 and 09 are due then (trigger deregistration).
Shanxi 140800 (window 2022-07..09, fixed due date 2023-06-30):
- REF: paid 2022-07 (PREF) but elected refund_first_period (2022-07-25): the window stays 07..09; the
  refund FREF (300.00) is added back: 2022-07 employer_medical 300.00 - 300.00 + 300.00 = 300.00.
"""

import http.server
import json
import re
import threading
import urllib.error
import urllib.request

import pytest
from stdnum.cn import ric
from typer.testing import CliRunner

from assets.identifiers import person_key
from assets.settings import settings_from_environment
from pipelines.cli import app
from pipelines.docs_server import handler
from tests.scenario import Scenario, person

A, B, P_IND, P_COM, P_SHF, P_LATE, P_DR, P_REF = (person(i) for i in range(11, 19))


def explain_world(root):
    s = Scenario(root)
    s.reserve("340100", "2022-07", "1000.00")  # fund_reserves line 2
    s.reserve("140800", "2022-06", "1000.00")  # line 3
    codes = {
        "IND": s.unit("IND", 11, industry_code="C1301"),  # units line 2
        "COM": s.unit("COM", 12),  # 3
        "SHF": s.unit("SHF", 13),  # 4
        "LATE": s.unit("LATE", 14),  # 5
        "DEP": s.unit("DEP", 15),  # 6
        "DR": s.unit("DR", 16, deregistered_on="2022-10-15"),  # 7
        "REF": s.unit("REF", 17, region="140800"),  # 8
    }
    indicators = dict(size_class="", employees="50", operating_revenue="5000000.00", source="statistics")
    s.add("sme_classifications", uscc=codes["IND"], as_of="2022-03-31", **indicators)  # line 2
    for unit in ("SHF", "LATE", "DEP", "DR"):  # lines 3..6
        s.add("sme_classifications", uscc=codes[unit], as_of="2022-03-31", size_class="small", source="statistics")
    s.add("sme_classifications", uscc=codes["REF"], as_of="2022-03-31", size_class="micro", source="statistics")  # 7
    s.add("sme_classifications", uscc=codes["IND"], as_of="2021-03-31", size_class="large", source="statistics")  # 8
    s.add(
        "commitments",
        commitment_id="C1",
        unit_id="COM",
        uscc=codes["COM"],
        declared_size_class="micro",
        requested_from="2022-08",
        requested_to="2022-09",
        signed_on="2022-07-20",
    )  # line 2
    no_share = {"employee_medical": "0.00"}
    for period in ("2022-08", "2022-09", "2022-10"):  # contributions lines 2..4 (IND), 5..7 (COM)
        s.contribution("IND", P_IND, period, "200.00", **no_share)
    for period in ("2022-08", "2022-09", "2022-10"):
        s.contribution("COM", P_COM, period, "300.00", **no_share)
    for period in ("2022-08", "2022-09", "2022-10", "2022-11"):
        s.contribution("SHF", P_SHF, period, "400.00", **no_share)
    s.contribution("LATE", P_LATE, "2022-08", "1000.00", **no_share)
    for period in ("2022-08", "2022-09"):
        s.contribution("DEP", A, period, "100.00", **no_share)
    for period in ("2022-08", "2022-09", "2022-10"):
        s.contribution("DEP", B, period, "200.00", **no_share)
    for period in ("2022-08", "2022-09"):
        s.contribution("DR", P_DR, period, "150.00", **no_share)
    for period in ("2022-07", "2022-08", "2022-09"):
        s.contribution("REF", P_REF, period, "300.00", employer_maternity="30.00", **no_share)
    s.payment("PSHF", codes["SHF"], "2022-08", "400.00", "2022-08-20")  # tax_payments line 2
    s.payment("PREF", codes["REF"], "2022-07", "300.00", "2022-07-20")  # 3
    s.payment("RL1", codes["LATE"], "2022-08", "333.33", "2022-12-05", kind="repayment")  # 4
    s.payment("RL2", codes["LATE"], "2022-08", "200.00", "2022-12-20", kind="repayment")  # 5
    s.payment("FREF", codes["REF"], "2022-07", "300.00", "2022-08-10", kind="refund")  # 6
    s.add("elections", unit_id="REF", election="refund_first_period", filed_on="2022-07-25")  # line 2
    s.add("employee_events", unit_id="DEP", person_id=A, event_type="departure", event_date="2022-09-10")  # line 2
    s.run(as_of="2022-12", months=["2022-11", "2022-12"], publish=True)
    return codes


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain")
    return root, explain_world(root)


def explain(root, *args) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["explain", "--data-dir", str(root), *args])
    return result.exit_code, result.output


def trail(root, unit: str, *args) -> dict:
    code, out = explain(root, "--unit", unit, "--format", "json", *args)
    assert code == 0, out
    return json.loads(out)


def key_of(person_id: str) -> str:
    return person_key(settings_from_environment().effective_pii_key.encode(), person_id)


def at(file: str, line: int) -> dict:
    return {"file": f"raw/{file}/part.csv", "line": line}


def test_a_unit_classified_by_its_indicators_names_the_thresholds(world):
    root, codes = world
    t = trail(root, "IND")
    c = t["classification"]
    assert (c["size_class"], c["classification"], c["basis"]) == ("small", "indicators", "auto_list")
    assert [(r["as_of"], r["size_class"], r["source_kind"], r["latest"], r["source"]) for r in c["register"]] == [
        ("2022-03-31", None, "statistics", True, at("sme_classifications", 2)),
        ("2021-03-31", "large", "statistics", False, at("sme_classifications", 8)),
    ]
    assert c["decided_by"] == {"input": "indicators", "source": at("sme_classifications", 2)}
    ind = c["indicators"]
    assert (ind["industry_code"], ind["category"], ind["prefix"]) == ("C1301", "industry", "C")
    assert ind["checks"] == [
        {"indicator": "employees", "value": 50, "cap": "1000", "medium": "300", "small": "20", "reaches": "small"},
        {
            "indicator": "operating_revenue",
            "value": "5000000.00",
            "cap": "400000000",
            "medium": "20000000",
            "small": "3000000",
            "reaches": "small",
        },
    ]
    assert "300号" in ind["rule"]["clause"]
    assert t["identity"]["source"] == at("units", 2) and t["identity"]["region_name"] == "合肥市"
    assert [(r["period"], r["deferred_amount"]) for r in t["ledger"]["rows"]] == [
        ("2022-08", "200.00"),
        ("2022-09", "200.00"),
        ("2022-10", "200.00"),
    ]
    assert t["ledger"]["rows"][0]["assessed_from"] == [{"file": "raw/contributions/part.csv", "rows": 1, "lines": [2]}]
    region = t["region"]
    assert (region["months_payable"], region["eligible"], region["source"]) == ("10.0000", True, at("fund_reserves", 2))
    assert region["rule"]["parameter"] == "reserve_threshold" and "大于6个月" in region["rule"]["clause"]


def test_a_unit_classified_by_commitment_gets_the_intersected_window(world):
    root, _ = world
    t = trail(root, "COM")
    c, d = t["classification"], t["decision"]
    assert (c["size_class"], c["classification"], c["decided_by"]) == (
        "micro",
        "commitment",
        {"input": "commitment", "commitment_id": "C1"},
    )
    assert [(m["commitment_id"], m["counted"], m["source"]) for m in c["commitments"]] == [
        ("C1", True, at("commitments", 2))
    ]
    assert (d["window_start"], d["window_end"], d["unit_due_date"], d["basis"]) == (
        "2022-08",
        "2022-09",
        "2022-10-31",
        "commitment",
    )
    fees = [(o["obligation_id"], o["late_fee"], o["late_fee_arithmetic"]["parts"]) for o in t["obligations"]["rows"]]
    assert fees == [
        (
            "COM|2022-08|employer_medical|unit",
            "9.15",
            [{"on": "outstanding", "amount": "300.00", "days": 61, "fee": "9.150000"}],
        ),
        (
            "COM|2022-09|employer_medical|unit",
            "9.15",
            [{"on": "outstanding", "amount": "300.00", "days": 61, "fee": "9.150000"}],
        ),
    ]


def test_a_shifted_window_names_the_payment_that_moved_it(world):
    root, _ = world
    d = trail(root, "SHF")["decision"]
    assert (d["window_start"], d["window_end"], d["shifted"], d["unit_due_date"]) == (
        "2022-09",
        "2022-11",
        True,
        "2022-12-31",
    )
    paid = d["window_moved"]["first_period_paid"]
    assert (paid["payment_id"], paid["paid_on"], paid["amount"], paid["source"]) == (
        "PSHF",
        "2022-08-20",
        "400.00",
        at("tax_payments", 2),
    )
    assert {r["parameter"] for r in d["rules"]} >= {"first_period", "shift_if_first_period_paid", "repayment_due"}
    code, text = explain(root, "--unit", "SHF")
    assert code == 0 and "payment PSHF 400.00 on 2022-08-20  [raw/tax_payments/part.csv:2]" in text


def test_a_refund_election_keeps_the_shanxi_window(world):
    root, _ = world
    t = trail(root, "REF")
    d = t["decision"]
    assert (t["identity"]["policy_id"], d["window_start"], d["window_end"], d["shifted"]) == (
        "shanxi-2022",
        "2022-07",
        "2022-09",
        False,
    )
    assert d["window_moved"]["first_period_paid"]["payment_id"] == "PREF"
    election = d["window_moved"]["kept_by_refund_election"]
    assert (election["filed_on"], election["source"]) == ("2022-07-25", at("elections", 2))
    assert d["unit_due_date"] == "2023-06-30"
    july = next(r for r in t["ledger"]["rows"] if (r["period"], r["component"]) == ("2022-07", "employer_medical"))
    assert (july["assessed_amount"], july["paid_amount"], july["refunded_amount"], july["deferred_amount"]) == (
        "300.00",
        "300.00",
        "300.00",
        "300.00",
    )
    assert [(p["payment_kind"], p["payment_id"], p["source"]) for p in july["payments"]] == [
        ("regular", "PREF", at("tax_payments", 3)),
        ("refund", "FREF", at("tax_payments", 6)),
    ]
    assert t["ledger"]["rule"]["value"] == ["employer_medical", "employer_maternity"]


def test_an_overdue_obligation_shows_its_late_fee_arithmetic_on_each_late_part(world):
    root, _ = world
    (o,) = trail(root, "LATE")["obligations"]["rows"]
    assert (o["amount"], o["due_date"], o["repaid_amount"], o["outstanding_amount"], o["status"], o["late_fee"]) == (
        "1000.00",
        "2022-11-30",
        "533.33",
        "466.67",
        "overdue",
        "10.07",
    )
    assert [(p["payment_id"], p["allocated"], p["source"]) for p in o["payments"]] == [
        ("RL1", "333.33", at("tax_payments", 4)),
        ("RL2", "200.00", at("tax_payments", 5)),
    ]
    a = o["late_fee_arithmetic"]
    assert a["parts"] == [
        {"on": "payment", "payment_id": "RL1", "amount": "333.33", "days": 5, "fee": "0.833325"},
        {"on": "payment", "payment_id": "RL2", "amount": "200.00", "days": 20, "fee": "2.000000"},
        {"on": "outstanding", "amount": "466.67", "days": 31, "fee": "7.233385"},
    ]
    assert (a["daily_rate"], a["sum"], a["rounded"]) == ("0.0005", "10.066710", "10.07")
    code, text = explain(root, "--unit", "LATE")
    assert code == 0
    assert "333.33 × 0.0005 × 5 days (payment RL1) = 0.833325" in text
    assert "466.67 × 0.0005 × 31 days (outstanding) = 7.233385" in text
    assert "合计 Sum 10.066710 → 10.07" in text
    # as of 2022-11 the December repayments are not known and the due date is D itself: not late
    (o,) = trail(root, "LATE", "--as-of", "2022-11")["obligations"]["rows"]
    assert (o["status"], o["late_fee"], o["payments"], o["late_fee_arithmetic"]["parts"]) == ("pending", "0.00", [], [])


def test_a_departure_obligation_names_the_person_by_key_only(world):
    root, _ = world
    t = trail(root, "DEP")
    rows = t["obligations"]["rows"]
    key = key_of(A)
    assert [(o["obligation_id"], o["trigger"], o["amount"], o["due_date"]) for o in rows] == [
        (f"DEP|2022-08|employer_medical|{key}", "departure", "100.00", "2022-09-30"),
        (f"DEP|2022-09|employer_medical|{key}", "departure", "100.00", "2022-09-30"),
        ("DEP|2022-08|employer_medical|unit", "deferral_end", "200.00", "2022-11-30"),
        ("DEP|2022-09|employer_medical|unit", "deferral_end", "200.00", "2022-11-30"),
        ("DEP|2022-10|employer_medical|unit", "deferral_end", "200.00", "2022-11-30"),
    ]
    event = rows[0]["event"]
    assert event == {
        "person_key": key,
        "event_type": "departure",
        "event_date": "2022-09-10",
        "source": at("employee_events", 2),
    }
    _, text = explain(root, "--unit", "DEP")
    raw = json.dumps(t, ensure_ascii=False)
    for shown in (raw, text):
        assert A not in shown and B not in shown
        # no person id of any kind (a uscc has no birth date: not a valid GB 11643 number)
        assert not [m for m in re.findall(r"[0-9]{17}[0-9X]", shown) if ric.is_valid(m)]
    assert f"person {key}" in text and "事件 Event departure on 2022-09-10  [raw/employee_events/part.csv:2]" in text


def test_a_deregistration_caps_every_due_date(world):
    root, codes = world
    t = trail(root, "DR")
    assert [(o["trigger"], o["due_date"], o["capped_by"]) for o in t["obligations"]["rows"]] == [
        ("deregistration", "2022-10-15", {"deregistered_on": "2022-10-15", "source": at("units", 7)}),
        ("deregistration", "2022-10-15", {"deregistered_on": "2022-10-15", "source": at("units", 7)}),
    ]
    # by uscc, the same unit
    code, out = explain(root, "--uscc", codes["DR"], "--format", "json")
    assert code == 0 and json.loads(out)["unit_id"] == "DR"
    code, text = explain(root, "--unit", "DR")
    assert "注销 Deregistered on 2022-10-15: due date capped  [raw/units/part.csv:7]" in text


def test_an_unknown_unit_or_a_month_not_published_is_one_line_and_exit_2(world):
    root, _ = world
    code, out = explain(root, "--unit", "NOPE")
    assert code == 2 and out.strip().count("\n") == 0 and "no accepted unit with unit_id NOPE" in out
    code, out = explain(root, "--unit", "IND", "--as-of", "2022-06")
    assert code == 2 and out.strip().count("\n") == 0 and "not 2022-06" in out


def test_deferral_docs_serves_the_same_trail_on_loopback(world):
    root, _ = world
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler(root))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/explain"
    try:
        with urllib.request.urlopen(f"{url}?unit=LATE&format=json") as response:
            assert json.loads(response.read()) == trail(root, "LATE")
        with urllib.request.urlopen(f"{url}?unit=DEP") as response:
            assert response.read().decode() == explain(root, "--unit", "DEP")[1]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}?unit=NOPE")
        assert refused.value.code == 404
    finally:
        httpd.shutdown()
