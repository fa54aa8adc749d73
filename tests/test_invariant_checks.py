"""The every-month invariants (assets/*/checks.yaml, one .check.sql each) pass on a correct world and
fail, naming the month and the row, when one fact is broken by hand."""

import duckdb
import pytest

from assets.policy.checks import policy_checks
from assets.reconciliation.assets import reconciliation_checks
from assets.resources import warehouse_resource

CHECKS = {
    c.check_specs_by_output_name[n].name: c
    for c in [*policy_checks, *reconciliation_checks]
    for n in c.check_specs_by_output_name
}


@pytest.fixture
def world(obligations_published):
    """The obligations world as of 2022-12, shared with other modules: a test that breaks a fact copies it."""
    root, _ = obligations_published
    return root


def evaluate(root, name: str):
    return CHECKS[name](warehouse=warehouse_resource(str(root)))


def rewrite(path, sql: str) -> None:
    """Replaces a warehouse file by ``sql`` over its own rows (``t``)."""
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet)")


def test_every_invariant_passes_on_the_world(world):
    for name in (
        "obligations_add_up_to_ledger",
        "repaid_plus_outstanding_is_amount",
        "every_overdue_obligation_in_one_notice",
        "statuses_add_up",
        "statistics_match_ledger_and_schedule",
    ):
        result = evaluate(world, name)
        assert result.passed, (name, result.metadata)
        assert result.metadata["months_checked"].value == 1  # the world is run as of 2022-12 only
        # nothing it reads changed since: the month's rows are kept, not evaluated again
        again = evaluate(world, name)
        assert again.passed and again.metadata["months_evaluated_now"].value == []


@pytest.mark.parametrize(
    ("name", "table", "sql", "row"),
    [
        # DEP's 2022-08 medical deferral is A's 233.33 + B's 466.67 = 700.00; one more yuan in the ledger
        (
            "obligations_add_up_to_ledger",
            "deferral_ledger",
            "SELECT * REPLACE (CASE WHEN unit_id = 'DEP' AND period = '2022-08' AND component = 'employer_medical' "
            "THEN deferred_amount + 1 ELSE deferred_amount END AS deferred_amount) FROM t",
            ["2022-12", "DEP", "2022-08", "employer_medical", "701.00", "700.00"],
        ),
        # the unit's 2022-09 obligation: 183.33 repaid + 50.00 outstanding = 233.33; a yuan more repaid
        (
            "repaid_plus_outstanding_is_amount",
            "repayment_schedule",
            "SELECT * REPLACE (CASE WHEN obligation_id = 'DEP|2022-09|employer_medical|unit' "
            "THEN repaid_amount + 1 ELSE repaid_amount END AS repaid_amount) FROM t",
            ["2022-12", "DEP|2022-09|employer_medical|unit"],
        ),
        # DEP's overdue notice removed: its overdue obligations are in no notice (unit, in schedule, in notices,
        # notices); the count in the schedule is read from the schedule below
        (
            "every_overdue_obligation_in_one_notice",
            "repayment_notices",
            "SELECT * FROM t WHERE NOT (unit_id = 'DEP' AND kind = 'overdue')",
            "DEP",
        ),
        # one status row's flag flipped: DEP, SX and DR defer (3 ledger units, 3 status rows, 3 distinct), 1 wrong
        (
            "statuses_add_up",
            "unit_status",
            "SELECT * REPLACE (CASE WHEN unit_id = 'DEP' THEN NOT regarded_as_paid ELSE regarded_as_paid END "
            "AS regarded_as_paid) FROM t",
            ["2022-12", "3", "3", "3", "1"],
        ),
    ],
)
def test_a_broken_fact_fails_its_invariant(world, tmp_path, name, table, sql, row):
    import shutil

    target = tmp_path / "w"
    shutil.copytree(world, target, symlinks=True)
    assert evaluate(target, name).passed
    for path in (target / "warehouse" / "policy" / table / "2022-12").glob("anhui-2022.parquet"):
        rewrite(path, sql)
    result = evaluate(target, name)
    assert not result.passed
    assert result.metadata["months_evaluated_now"].value == ["2022-12"]  # a file it reads changed
    examples = next(v.value for k, v in result.metadata.items() if k.startswith("examples"))
    assert result.metadata["rows_failing"].value == 1
    if row == "DEP":
        schedule = target / "warehouse" / "policy" / "repayment_schedule" / "2022-12" / "anhui-2022.parquet"
        overdue = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{schedule}') WHERE unit_id = 'DEP' AND status = 'overdue'"
        ).fetchall()[0][0]
        assert overdue > 0
        row = ["2022-12", "DEP", str(overdue), "None", "None"]
    assert examples == [row]
