"""Check characters and prefixes of SPEC section 2, on the SPEC's examples and hand-worked codes."""

import pytest

from assets.identifiers import gb11714_check, person_check_ok, uscc_check_ok, uscc_inner_check_ok


def test_spec_examples_are_valid():
    assert uscc_check_ok("91340100123456788L")
    assert person_check_ok("11010519491231002X")


@pytest.mark.parametrize("wrong", ["91340100123456788M", "913401001234567880"])
def test_wrong_uscc_check_character(wrong):
    assert not uscc_check_ok(wrong)


def test_wrong_person_check_character():
    assert not person_check_ok("110105194912310021")


def test_uscc_check_by_hand():
    # values 9,1,3,4,0,1,0,0,1,2,3,4,5,6,7,8,8 with weights 1,3,9,27,19,26,16,17,20,29,25,13,8,24,10,30,28
    # sum to 1096; 1096 mod 31 = 11; 31 - 11 = 20 -> alphabet[20] = 'L'
    assert uscc_check_ok("91340100123456788L")
    assert not uscc_check_ok("91340100123456788K")


def test_person_check_by_hand():
    # 1,1,0,1,0,5,1,9,4,9,1,2,3,1,0,0,2 with weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2
    # sum to 167; 167 mod 11 = 2; '10X98765432'[2] = 'X'
    assert person_check_ok("11010519491231002X")
    assert not person_check_ok("110105194912310029")


def test_gb11714_inner_check_by_hand():
    # 12345678: 1*3+2*7+3*9+4*10+5*5+6*8+7*4+8*2 = 201; 201 mod 11 = 3; 11-3 = 8
    assert gb11714_check("12345678") == "8"
    assert uscc_inner_check_ok("91340100123456788L")
    assert not uscc_inner_check_ok("91340100123456780" + "L")


def test_each_value_s_check_is_computed_once_across_runs_and_once_again_in_a_full_run(tmp_path):
    import duckdb
    import pyarrow as pa
    from duckdb.sqltypes import BOOLEAN, VARCHAR

    from assets.ingest.check_memo import failing
    from assets.resources import Warehouse
    from assets.settings import settings_from_environment

    checked: list[str] = []  # every value the check was called with (DuckDB may call it twice on one row)

    def ends_in_one(values: pa.Array) -> pa.Array:  # the check: a value is right when it ends in 1
        checked.extend(values.to_pylist())
        return pa.array([v.endswith("1") for v in values.to_pylist()], pa.bool_())

    def bad(warehouse: Warehouse, values: list[str]) -> set[str]:
        con = duckdb.connect()
        con.create_function("ends_in_one", ends_in_one, [VARCHAR], BOOLEAN, type="arrow", side_effects=False)
        con.execute("CREATE TEMP TABLE d AS SELECT unnest(?::VARCHAR[]) AS v", [values])
        failing(con, warehouse, "ends_in_one", "d", "bad")
        return {v for (v,) in con.execute("SELECT v FROM bad").fetchall()}

    run = Warehouse(data_dir=str(tmp_path), settings=settings_from_environment())
    assert bad(run, ["a1", "b2", "c1"]) == {"b2"} and set(checked) == {"a1", "b2", "c1"}
    checked.clear()  # a later run: only the value no run checked is checked; a kept failure still fails
    assert bad(run, ["a1", "b2", "d2"]) == {"b2", "d2"} and set(checked) == {"d2"}
    checked.clear()  # --full: every value again, once in the run (a second table naming a1 does not check it)
    full = Warehouse(data_dir=str(tmp_path), settings=settings_from_environment(), recompute_all=True)
    full._run_token = "cli-1-full"  # what setup_for_execution takes from the run's lock tag
    assert bad(full, ["a1", "b2", "d2", "e3"]) == {"b2", "d2", "e3"} and set(checked) == {"a1", "b2", "d2", "e3"}
    checked.clear()
    assert bad(full, ["a1", "b2", "f1"]) == {"b2"} and set(checked) == {"f1"}
    # the memo now holds what the full run checked, each value once (c1, checked only by an earlier run, is gone)
    memo = duckdb.sql(f"SELECT v, ok FROM read_parquet('{tmp_path}/warehouse/checks/ends_in_one/*/*.parquet')")
    assert sorted(memo.fetchall()) == [("a1", True), ("b2", False), ("d2", False), ("e3", False), ("f1", True)]
    checked.clear()  # another --full run checks every value again
    again = Warehouse(data_dir=str(tmp_path), settings=settings_from_environment(), recompute_all=True)
    again._run_token = "cli-2-full"
    assert bad(again, ["a1", "f1"]) == set() and set(checked) == {"a1", "f1"}
