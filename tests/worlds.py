"""The hand-built worlds several test modules share: each is built by a function here, so that no
test module imports another. Values in the tests are computed by hand from SPEC for these worlds."""

from tests.conftest import USCC_A
from tests.scenario import Scenario, person, uscc

# A unit of the ingest tests' rows: a valid USCC (SPEC section 2 example) in Hefei.
UNIT = {
    "unit_id": "U1",
    "uscc": USCC_A,
    "unit_name": "合肥恒通科技有限公司",
    "region_code": "340100",
    "unit_type": "enterprise",
    "industry_code": "C1301",
    "registered_on": "2010-05-01",
    "deregistered_on": "",
}


# The obligations world (SPEC section 3): departures, retirements, a deregistration, repayments.
A, B, C, DD, E, F, G = (person(i) for i in range(1, 8))


def obligations_world(root):
    s = Scenario(root)
    s.reserve("340100", "2022-07", "1000.00")
    s.reserve("140800", "2022-06", "1000.00")
    small = dict(as_of="2022-03-31", size_class="small", source="statistics")
    # DEP (Anhui, window 08-10, due 2022-11-30): A leaves on 2022-09-10; 09 is deferred only in part
    dep = s.unit("DEP", 1)
    s.add("sme_classifications", uscc=dep, **small)
    for period in ("2022-08", "2022-09"):
        s.contribution("DEP", A, period, "233.33")
    for period in ("2022-08", "2022-09", "2022-10"):
        s.contribution("DEP", B, period, "466.67")
    s.payment("R09", dep, "2022-09", "350.00", "2022-10-15")  # regular: 350 of 700 paid
    s.add("employee_events", unit_id="DEP", person_id=A, event_type="departure", event_date="2022-09-10")
    s.payment("RP1", dep, "2022-09", "100.00", "2022-10-10", kind="repayment")
    s.payment("RP2", dep, "2022-09", "200.00", "2022-12-05", kind="repayment")
    s.payment("RP3", dep, "2022-10", "500.00", "2022-11-20", kind="repayment")
    # SX (Shanxi 140800, window 07-09, due 2023-06-30): C retires, DD transfers out after the
    # window, E has a departure and a retirement on the same day
    sx = s.unit("SX", 2, region="140800")
    s.add("sme_classifications", uscc=sx, **small)
    for period in ("2022-07", "2022-08"):
        s.contribution("SX", C, period, "300.00", employer_maternity="20.00")
    for period in ("2022-07", "2022-08", "2022-09", "2022-10"):
        s.contribution("SX", DD, period, "200.00", employer_maternity="10.00")
        s.contribution("SX", E, period, "100.00", employer_maternity="5.00")
    s.add("employee_events", unit_id="SX", person_id=C, event_type="retirement", event_date="2022-08-20")
    s.add("employee_events", unit_id="SX", person_id=DD, event_type="transfer_out", event_date="2022-10-05")
    s.add("employee_events", unit_id="SX", person_id=E, event_type="retirement", event_date="2022-11-10")
    s.add("employee_events", unit_id="SX", person_id=E, event_type="departure", event_date="2022-11-10")
    # DR (Anhui): deregisters on 2022-09-20, inside its window; F leaves on 2022-09-15
    dr = s.unit("DR", 3, deregistered_on="2022-09-20")
    s.add("sme_classifications", uscc=dr, **small)
    for period in ("2022-08", "2022-09"):
        s.contribution("DR", F, period, "100.00")
        s.contribution("DR", G, period, "200.00")
    s.add("employee_events", unit_id="DR", person_id=F, event_type="departure", event_date="2022-09-15")
    return s


# The statistics world:
# Reconciliation kinds and monthly statistics on a two-profile, three-region world, by hand.
#
# Anhui 340100: A1 (small enterprise; P1 100.00 + P2 200.00 a month) and A2 (individual business;
# P3 50.00 + P1 20.00); Anhui 349900: A3 (social group; P1 10.00); Shanxi 140800: S1 (micro;
# P4 400.00 medical + 40.00 maternity + 100.00 employee share). Nobody pays the employer share in
# the window; repayments: A1 08 300.00 on 2022-09-05, A1 09 300.00 on 2022-11-10, A1 10 300.00 on
# 2022-12-02 (two days after its 2022-11-30 due date), A3 08 15.00 on 2022-10-10 (5.00 too much).
P1, P2, P3, P4 = (person(i) for i in range(1, 5))
UNKNOWN = uscc(99, region="340100")
MONTHS = ["2022-07", "2022-08", "2022-09", "2022-10", "2022-11", "2022-12"]


def statistics_world(root, publish: bool = False):
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
    out.scenario = s  # to run the world again with a change
    return out, {"A1": a1, "A2": a2, "A3": a3, "S1": s1}
