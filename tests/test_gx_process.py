"""Great Expectations in a process of its own (assets/ingest/gx_process.py): what `deferral run` starts.
The same calls give the same answers there as in this process, a failure there is raised here, and the
process ends with the run."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from assets.contracts import load_suite
from assets.ingest import gx_process
from assets.ingest.gx_process import call, close_suite, counts, open_suite, started, unexpected_rows

# fund_reserves rows as GX sees them: region_code must be six digits, as_of_month YYYY-MM or YYYYMM, the
# amounts digits with at most two decimals (expectations/fund_reserves.json)
ROWS = pa.table(
    {
        "source_file": ["raw/fund_reserves/a.csv"] * 3,
        "source_line": [2, 3, 4],
        "region_code": ["340100", "34010", None],  # line 3: five digits; line 4: missing
        "as_of_month": ["2022-06", "202206", "2022-13"],  # line 4: no month 13
        "accumulated_balance": ["100.50", "7", "1.234"],  # line 4: three decimals
        "avg_monthly_expenditure": ["20", "3.5", "4"],
    }
)


def _judged(suite: str) -> tuple[dict, list]:
    spec = load_suite("fund_reserves")
    call(open_suite, suite, "fund_reserves", spec["expectations"], spec["meta"], None)
    found = {(kind, column): (n, bad) for kind, column, n, bad in call(counts, suite, ROWS)}
    call(close_suite, suite)
    regex = [e for e in spec["expectations"] if e["kwargs"] == {"column": "region_code", "regex": "^[0-9]{6}$"}]
    call(open_suite, suite, "fund_reserves_disagreement", regex, {}, None)
    flagged = call(unexpected_rows, suite, ROWS)
    call(close_suite, suite)
    return found, flagged


def test_the_gx_process_judges_as_this_process_does_and_ends_with_the_run():
    # by hand: region_code null on line 4 (1 of 3), not six digits on line 3 (GX leaves nulls to the
    # null check: 1 unexpected of the 2 non-null); as_of_month 2022-13 on line 4; balance 1.234 on line 4
    expected = {
        ("expect_column_values_to_not_be_null", "region_code"): (3, 1),
        ("expect_column_values_to_not_be_null", "as_of_month"): (3, 0),
        ("expect_column_values_to_match_regex", "region_code"): (3, 1),
        ("expect_column_values_to_match_regex", "as_of_month"): (3, 1),
        ("expect_column_values_to_match_regex", "accumulated_balance"): (3, 1),
        ("expect_column_values_to_match_regex", "avg_monthly_expenditure"): (3, 0),
    }
    here = _judged("here")
    with started():
        process, _ = gx_process._PROCESS
        assert call(os.getpid) == process.pid != os.getpid()
        there = _judged("there")
        with pytest.raises(KeyError):  # a failure there is raised here, as itself
            call(counts, "never opened", ROWS)
    assert not process.is_alive() and gx_process._PROCESS is None
    for found, flagged in (here, there):
        assert {k: found[k] for k in expected} == expected
        assert flagged == [("raw/fund_reserves/a.csv", 3)]
    assert call(os.getpid) == os.getpid()  # no process: this one
