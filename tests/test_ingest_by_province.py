"""Issue 13: contributions ingested one province at a time (assets/ingest/shares.py).

Files under raw/contributions/<province_code>/ are that province's; other files' rows go to the
province of their unit. Every expected value below follows from those rules and SPEC section 4's
identity (rows read = accepted + quarantined + exact duplicates), worked out by hand."""

import csv
import shutil
from pathlib import Path

import dagster as dg
import duckdb

from assets.contracts import RAW_TABLES, ingest_key
from assets.ingest.assets import ingest_assets
from assets.ingest.checks import accounting_checks
from assets.ingest.engine import ingest_table
from assets.resources import warehouse_resource
from tests.conftest import PERSON_A, USCC_A

ANHUI_UNIT = {
    "unit_id": "U1",
    "uscc": USCC_A,
    "unit_name": "合肥恒通科技有限公司",
    "region_code": "340100",
    "unit_type": "enterprise",
    "industry_code": "C1301",
    "registered_on": "2010-05-01",
    "deregistered_on": "",
}
SHANXI_UNIT = dict(ANHUI_UNIT, unit_id="U2", uscc="92340100MA2N0X0X8T", unit_name="运城晋南商贸", region_code="140800")


def _row(unit: str, period: str) -> list[str]:
    # unit_id, person_id, period, contribution_base, employer_medical, employee_medical, employer_maternity
    return [unit, PERSON_A, period, "5000", "350.00", "100.00", ""]


def _write(data_dir, relative: str, rows: list[list[str]], table: str = "contributions") -> None:
    path = data_dir / "raw" / table / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(RAW_TABLES[table].columns)
        writer.writerows(rows)


def _layout(data_dir) -> None:
    _write(
        data_dir,
        "units.csv",
        [[ANHUI_UNIT[c] for c in RAW_TABLES["units"].columns], [SHANXI_UNIT[c] for c in RAW_TABLES["units"].columns]],
        table="units",
    )
    _write(
        data_dir, "340000/anhui.csv", [_row("U1", "2022-08"), _row("U2", "2022-08")]
    )  # line 3: a Shanxi unit in Anhui's folder
    _write(data_dir, "140000/shanxi.csv", [_row("U2", "2022-08")])
    _write(
        data_dir,
        "all.csv",
        [
            _row("U1", "2022-09"),  # line 2: to Anhui by its unit
            _row("U2", "2022-09"),  # line 3: to Shanxi
            _row("U9", "2022-09"),  # line 4: nobody's unit: quarantined once, by the first
            _row("U2", "2022-08"),  # line 5: an exact duplicate of 140000/shanxi.csv line 2
            ["U1", PERSON_A, "2022-10"],
        ],
    )  # line 6: too few fields


def test_rows_go_to_their_province(warehouse, data_dir):
    _layout(data_dir)
    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        counts = ingest_table(con, warehouse, RAW_TABLES["contributions"])
    assert (counts["rows_read"], counts["accepted"], counts["quarantined"], counts["exact_duplicates"]) == (8, 4, 3, 1)

    con = duckdb.connect()
    clean = data_dir / "warehouse" / "clean" / "contributions"  # a folder per province
    assert sorted(p.name for p in clean.iterdir()) == ["anhui-2022", "shanxi-2022"]

    def rows(path, columns):
        return con.execute(f"SELECT {columns} FROM read_parquet('{path}') ORDER BY ALL").fetchall()

    assert rows(clean / "anhui-2022" / "*.parquet", "unit_id, period") == [("U1", "2022-08"), ("U1", "2022-09")]
    assert rows(clean / "shanxi-2022" / "*.parquet", "unit_id, period") == [("U2", "2022-08"), ("U2", "2022-09")]
    quarantine = warehouse.quarantine_dir("contributions")
    assert rows(quarantine / "anhui-2022.parquet", "source_file, source_line, rule") == [
        ("raw/contributions/340000/anhui.csv", 3, "unknown_unit:unit_id"),
        ("raw/contributions/all.csv", 4, "unknown_unit:unit_id"),
        ("raw/contributions/all.csv", 6, "field_count:record"),
    ]
    assert rows(quarantine / "shanxi-2022.parquet", "source_line") == []
    assert rows(warehouse.duplicates_path("contributions", "shanxi-2022"), "source_file, source_line") == [
        ("raw/contributions/all.csv", 5)
    ]
    assert rows(warehouse.duplicates_path("contributions", "anhui-2022"), "source_line") == []
    # the table's validation record sums the provinces': the SQL judged all 7 readable records
    assert counts["validation"]["coverage"]["rows_checked_by_sql"] == 7
    assert counts["quarantine_by_rule"] == {"field_count:record": 1, "unknown_unit:unit_id": 2}


def test_province_steps_in_dagster_keep_the_identity(data_dir):
    """Through Dagster: a plan step, one step per province, a gather step; the accounting check
    (counted from the raw files) passes and the asset's metadata holds the table's counts."""
    _layout(data_dir)
    result = dg.materialize(
        [*ingest_assets, *accounting_checks],
        resources={"warehouse": warehouse_resource(str(data_dir))},
        selection=[ingest_key("units"), ingest_key("contributions")],
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    steps = {e.step_key for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    assert {
        "ingest__contributions.plan",
        "ingest__contributions.province[anhui_2022]",
        "ingest__contributions.province[shanxi_2022]",
        "ingest__contributions.gather",
    } <= steps
    (materialization,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key == ingest_key("contributions")
    ]
    metadata = materialization.materialization.metadata
    assert (
        metadata["rows_read"].value,
        metadata["accepted"].value,
        metadata["quarantined"].value,
        metadata["exact_duplicates"].value,
    ) == (8, 4, 3, 1)
    assert sorted(f["file"] for f in metadata["files"].value) == [
        "raw/contributions/140000/shanxi.csv",
        "raw/contributions/340000/anhui.csv",
        "raw/contributions/all.csv",
    ]
    (check,) = [
        c
        for c in result.get_asset_check_evaluations()
        if c.asset_key == ingest_key("contributions") and c.check_name == "rows_accounted_for"
    ]
    assert check.passed and check.metadata["unaccounted"].value == 0


def test_shared_files_are_split_once_so_no_province_step_reads_another_provinces_rows(warehouse, data_dir):
    """The planning step splits all.csv (the only shared file) by the province of each row's unit;
    each province's step is handed only its part. By hand from _layout: Anhui's part holds line 2
    (U1) and line 4 (U9, nobody's: the first profile takes it) and line 6's readable cells are not
    there (a broken line is a reject, not a record); Shanxi's holds lines 3 and 5 (U2)."""
    from assets.ingest.shares import plan_shares

    _layout(data_dir)
    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        shares = {s.province: s for s in plan_shares(con, warehouse, RAW_TABLES["contributions"])}
    con = duckdb.connect()

    def lines(share):
        files = ", ".join(f"'{p}'" for p in share.shared_parts)
        return con.execute(
            f"SELECT source_file, source_line, unit_id FROM read_parquet([{files}]) ORDER BY ALL"
        ).fetchall()

    assert lines(shares["anhui-2022"]) == [
        ("raw/contributions/all.csv", 2, "U1"),
        ("raw/contributions/all.csv", 4, "U9"),
    ]
    assert lines(shares["shanxi-2022"]) == [
        ("raw/contributions/all.csv", 3, "U2"),
        ("raw/contributions/all.csv", 5, "U2"),
    ]
    # a province's own folder is staged by its own step only
    assert [p.name for p in shares["anhui-2022"].files] == ["anhui.csv"]
    assert [p.name for p in shares["shanxi-2022"].files] == ["shanxi.csv"]


def _write_parquet(data_dir, relative: str, rows: list[list[str]]) -> None:
    path = data_dir / "raw" / "contributions" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = RAW_TABLES["contributions"].columns
    values = ", ".join("(" + ", ".join(f"'{v}'" if v else "NULL" for v in row) + ")" for row in rows)
    duckdb.execute(f"COPY (SELECT * FROM (VALUES {values}) t({', '.join(columns)})) TO '{path}' (FORMAT parquet)")


def test_a_shared_parquet_file_of_one_province_is_read_in_place_and_a_mixed_one_is_split(warehouse, data_dir):
    """shanxi.parquet (flat, so shared) holds Shanxi's rows only: the plan hands the file itself to
    Shanxi's step, which reads it where it is (no staged copy); mixed.parquet holds both provinces'
    rows: split while staged, as a CSV would be. By hand: mixed.parquet row 1 (U1) goes to Anhui,
    row 2 (U2) to Shanxi; shanxi.parquet row 2 repeats row 1 (an exact duplicate) and row 3 has a
    period that is no month (quarantined; a Parquet file has no header line: its row 3 is line 3)."""
    _layout(data_dir)
    (data_dir / "raw" / "contributions" / "all.csv").unlink()
    _write_parquet(data_dir, "shanxi.parquet", [_row("U2", "2022-10"), _row("U2", "2022-10"), _row("U2", "2022-13")])
    _write_parquet(data_dir, "mixed.parquet", [_row("U1", "2022-11"), _row("U2", "2022-11")])
    from assets.ingest.shares import plan_shares

    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        shares = {s.province: s for s in plan_shares(con, warehouse, RAW_TABLES["contributions"])}
        assert [p.name for p in shares["shanxi-2022"].direct_files] == ["shanxi.parquet"]
        assert shares["anhui-2022"].direct_files == ()
        staged = {p: [f.name for f in s.shared_parts] for p, s in shares.items()}
        assert len(staged["anhui-2022"]) == 1 and len(staged["shanxi-2022"]) == 1  # mixed.parquet, split
        counts = ingest_table(con, warehouse, RAW_TABLES["contributions"])
    # read: anhui.csv 2 + shanxi.csv 1 + shanxi.parquet 3 + mixed.parquet 2 = 8
    assert (counts["rows_read"], counts["accepted"], counts["quarantined"], counts["exact_duplicates"]) == (8, 5, 2, 1)
    con = duckdb.connect()

    def rows(path, columns):
        return con.execute(f"SELECT {columns} FROM read_parquet('{path}') ORDER BY ALL").fetchall()

    clean = warehouse.clean_path("contributions", "shanxi-2022")
    assert rows(clean, "unit_id, period") == [("U2", "2022-08"), ("U2", "2022-10"), ("U2", "2022-11")]
    assert rows(warehouse.clean_path("contributions", "anhui-2022"), "unit_id, period") == [
        ("U1", "2022-08"),
        ("U1", "2022-11"),
    ]
    assert rows(warehouse.quarantine_path("contributions", "shanxi-2022"), "source_file, source_line, rule") == [
        ("raw/contributions/shanxi.parquet", 3, "period:period")
    ]
    assert rows(warehouse.duplicates_path("contributions", "shanxi-2022"), "source_file, source_line") == [
        ("raw/contributions/shanxi.parquet", 2)
    ]
    # nothing of shanxi.parquet was written again: Shanxi's staged folder has mixed.parquet's rows only
    shared = warehouse.staged_dir("contributions", "_shared") / "shanxi-2022"
    assert rows(f"{shared}/*.parquet", "source_file") == [("raw/contributions/mixed.parquet",)]


def test_a_split_parquet_file_keeps_its_typed_amounts(warehouse, data_dir):
    """mixed.parquet holds amounts as DECIMAL(18,2) and rows of both provinces: its split parts keep the
    type (judged by value, not as text) and give what its text would. By hand: row 1 repeats anhui.csv
    line 2 (U1, 2022-08, 5000, 350.00, 100.00, empty): equal after normalisation, so the later copy
    (mixed.parquet sorts after 340000/anhui.csv) is an exact duplicate; row 2 (U2) has a negative
    employer share: quarantined in Shanxi's step with its cells as text; row 3 is accepted in Anhui's.
    Read 2 + 1 + 3 = 6 = accepted 3 (anhui.csv line 2, shanxi.csv, row 3) + quarantined 2 (anhui.csv
    line 3, a Shanxi unit in Anhui's folder; row 2) + 1 exact duplicate."""
    _layout(data_dir)
    (data_dir / "raw" / "contributions" / "all.csv").unlink()
    d = "::DECIMAL(18,2)"
    duckdb.execute(
        f"COPY (SELECT * FROM (VALUES ('U1', '{PERSON_A}', '2022-08', 5000{d}, 350{d}, 100{d}, NULL{d}), "
        f"('U2', '{PERSON_A}', '2022-09', 5000{d}, -1{d}, 100{d}, NULL{d}), "
        f"('U1', '{PERSON_A}', '2022-09', 5000{d}, 350{d}, 100{d}, 0{d})) "
        f"t({', '.join(RAW_TABLES['contributions'].columns)})) "
        f"TO '{data_dir / 'raw' / 'contributions' / 'mixed.parquet'}' (FORMAT parquet)"
    )
    with warehouse.connect() as con:
        ingest_table(con, warehouse, RAW_TABLES["units"])
        counts = ingest_table(con, warehouse, RAW_TABLES["contributions"])
    assert (counts["rows_read"], counts["accepted"], counts["quarantined"], counts["exact_duplicates"]) == (6, 3, 2, 1)
    con = duckdb.connect()
    shared = warehouse.staged_dir("contributions", "_shared") / "shanxi-2022"
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE FROM '{shared}/*.parquet')").fetchall())
    assert types["employer_medical"] == "DECIMAL(18,2)"
    quarantined = con.execute(
        "SELECT source_line, rule, raw_values::JSON->>'employer_medical' FROM "
        f"read_parquet('{warehouse.quarantine_path('contributions', 'shanxi-2022')}')"
    ).fetchall()
    assert quarantined == [(2, "money:employer_medical", "-1.00")]
    duplicates = warehouse.duplicates_path("contributions", "anhui-2022")
    assert con.execute(f"SELECT source_file, source_line FROM read_parquet('{duplicates}')").fetchall() == [
        ("raw/contributions/mixed.parquet", 1)
    ]


def _ingested(data_dir) -> dict[str, bytes]:
    """Units then contributions ingested on ``data_dir``: every quarantine and duplicates file, and each
    province's accepted rows."""
    from assets.resources import warehouse_resource
    from assets.settings import settings_from_environment

    warehouse = warehouse_resource(str(data_dir), settings=settings_from_environment(gx_data_docs=0))
    with warehouse.connect() as con:
        units = ingest_table(con, warehouse, RAW_TABLES["units"])
        ingest_table(con, warehouse, RAW_TABLES["contributions"])
    found: dict = {
        str(p.relative_to(data_dir)): p.read_bytes()
        for folder in ("warehouse/duplicates", "quarantine/contributions")
        for p in sorted((data_dir / folder).rglob("*.parquet"))
    }
    found["units warnings"] = units["warnings"]  # reported from each accepted-row file's flagged rows
    # the accepted rows as a set: their order in the file is not part of the contract (readers group
    # and sort), so only the sorted rows are compared
    for p in sorted((data_dir / "warehouse/clean/contributions").iterdir()):  # a province's files, as one table
        found[str(p.relative_to(data_dir))] = duckdb.connect().execute(f"FROM '{p}/*.parquet' ORDER BY ALL").fetchall()
    return found


def test_a_new_file_is_staged_and_judged_alone_and_gives_what_a_fresh_ingest_gives(tmp_path):
    """Monthly operation: a file ingested before (same path, size and SHA-256) is neither staged nor
    judged again when a new file arrives; duplicates and conflicts between old and new files are still
    found, every duplicates and quarantine file equals a fresh ingest's and so do the accepted rows.
    By hand: new.csv line 2 repeats all.csv's U1 2022-09 row (an exact duplicate, the later copy
    dropped), line 3 gives U2 2022-08 another employer share than 140000/shanxi.csv (a conflict: both
    rows quarantined), line 4 is a new row (accepted)."""
    data = tmp_path / "incremental"
    (data / "raw").mkdir(parents=True)
    _layout(data)
    _write(data, "340000/more.csv", [_row("U8", "2022-10")])  # a unit nobody has registered yet
    _ingested(data)
    staged = data / "warehouse" / "staged" / "contributions"
    clean = data / "warehouse" / "clean" / "contributions"

    def written(folder: Path) -> dict[Path, int]:  # staged and judged files, or accepted rows' files (by input)
        return {p: p.stat().st_mtime_ns for p in folder.rglob("*.parquet") if not p.name.startswith("clean-")}

    before, clean_before = written(staged), written(clean)
    assert any(p.name.startswith("judged-") for p in before) and any(p.name.startswith("part-") for p in before)
    conflict = _row("U2", "2022-08")
    conflict[4] = "351.00"
    _write(data, "new.csv", [_row("U1", "2022-09"), conflict, _row("U1", "2022-12")])
    kept = _ingested(data)
    after, clean_after = written(staged), written(clean)
    # the accepted rows, a file per input: new.csv's written in each province; of the earlier files only
    # 140000/shanxi.csv's again: its line 2 was the first copy of U2 2022-08 (all.csv line 5 a copy of it),
    # accepted in its own file, and new.csv's U2 2022-08 row differs from it, so it is a conflict now. All.csv's
    # Anhui file is kept: new.csv's U1 2022-09 row is a copy of its line 2, which stays the first copy

    def source(part: Path) -> tuple[str, str]:  # a clean file's province and the raw file of its input
        judged = staged / part.parent.name / part.name.replace("part-", "judged-", 1)
        return part.parent.name, duckdb.connect().execute(f"SELECT any_value(source_file) FROM '{judged}'").fetchone()[
            0
        ]

    parts = list(clean_after)
    assert sorted(source(p) for p in parts if p not in clean_before) == [
        ("anhui-2022", "raw/contributions/new.csv"),
        ("shanxi-2022", "raw/contributions/new.csv"),
    ]
    rewritten = [source(p) for p in parts if p in clean_before and clean_after[p] != clean_before[p]]
    assert rewritten == [("shanxi-2022", "raw/contributions/140000/shanxi.csv")]
    assert len([p for p in parts if clean_after[p] == clean_before.get(p)]) == 4  # the others kept
    assert {p: t for p, t in after.items() if p in before} == before  # nothing staged or judged again
    added = sorted(p.name.split("-")[0] for p in set(after) - set(before))
    # new.csv: a part, verdicts and their units per province; its broken lines and where its units went
    assert added == ["judged", "judged", "part", "part", "rejects", "routes", "units", "units"]

    fresh = tmp_path / "fresh"
    shutil.copytree(data / "raw", fresh / "raw")
    assert kept == _ingested(fresh)
    con = duckdb.connect()
    rules = con.execute(
        f"SELECT source_file, source_line, rule FROM read_parquet('{data}/quarantine/contributions/*.parquet') "
        "WHERE source_file LIKE '%new.csv' OR rule LIKE 'duplicate_key%' ORDER BY ALL"
    ).fetchall()
    key = "duplicate_key:unit_id,person_id,period"
    assert rules == [("raw/contributions/140000/shanxi.csv", 2, key), ("raw/contributions/new.csv", 3, key)]
    duplicates = con.execute(
        f"SELECT source_file, source_line FROM read_parquet('{data}/warehouse/duplicates/contributions/*.parquet')"
    ).fetchall()
    assert ("raw/contributions/new.csv", 2) in duplicates

    # units registered late: U9 (nobody's so far, so all.csv line 4 went to Anhui's step and was
    # quarantined as unknown there) is a Shanxi unit: all.csv is split again, its U9 row goes to Shanxi
    # and is accepted there; U8 is an Anhui unit: 340000/more.csv is judged again and its row accepted.
    # Again what a fresh ingest of the same files gives.
    late = dict(SHANXI_UNIT, unit_id="U9", uscc="91140800MA0K7XQ1X3", unit_name="运城新绛物流", unit_type="law_firm")
    later = dict(ANHUI_UNIT, unit_id="U8", uscc="91340100MA2P1Y2Y5J", unit_name="合肥新站物流")
    _write(data, "late.csv", [[u[c] for c in RAW_TABLES["units"].columns] for u in (late, later)], table="units")
    kept = _ingested(data)
    shutil.copytree(data / "raw", tmp_path / "fresh_again" / "raw")
    assert kept == _ingested(tmp_path / "fresh_again")
    # warned, not rejected: U2's 92 prefix is an individual business's, U9's 91 no law firm's; U2 is in
    # the first units file, U9 in late.csv, so the two files' flagged rows are reported together
    assert kept["units warnings"]["unit_type_prefix"] == {
        "count": 2,
        "examples": ["U2 92340100MA2N0X0X8T enterprise", "U9 91140800MA0K7XQ1X3 law_firm"],
    }
    assert kept["warehouse/clean/contributions/shanxi-2022"][-1][:3] == ("U9", PERSON_A, "2022-09")
    assert ("U8", PERSON_A, "2022-10") in [r[:3] for r in kept["warehouse/clean/contributions/anhui-2022"]]

    # new.csv exported again without its copy of all.csv's U1 2022-09 row (a corrected export): its old
    # version is gone and the new one is a new input; that key is no longer repeated, and all.csv's row, its
    # first copy, was accepted in all.csv's Anhui file all along: no earlier file is written again (before a
    # first copy stayed in its own file, all.csv's Anhui file was written twice for this). Again what a
    # fresh ingest gives.
    _write(data, "new.csv", [conflict, _row("U1", "2022-12")])
    clean_before = written(clean)
    kept = _ingested(data)
    shutil.copytree(data / "raw", tmp_path / "fresh_corrected" / "raw")
    assert kept == _ingested(tmp_path / "fresh_corrected")
    clean_after = written(clean)
    parts = [p for p in clean_after if p in clean_before]
    again = sorted(source(p) for p in parts if clean_after[p] != clean_before[p])
    assert again == [] and len(parts) == len(clean_before) - 2  # all but the old new.csv's two (a province each)
    accepted = kept["warehouse/clean/contributions/anhui-2022"]
    assert [r[-2:] for r in accepted if r[:3] == ("U1", PERSON_A, "2022-09")] == [("raw/contributions/all.csv", 2)]


def test_a_new_months_keys_are_looked_for_only_in_the_earlier_files_whose_ranges_they_meet(tmp_path):
    """A month's export cannot share a key (unit, person, period) with an earlier month's: an earlier
    file whose periods lie outside the new rows' is not read for them (its Parquet statistics say so),
    and the keys repeated before are counted from the last run's candidates. By hand, Anhui's U1 and
    person A: m08.csv line 2 (2022-08, 350.00) and m09.csv line 3 (2022-08, 351.00) conflict; m09.csv
    line 2 is 2022-09. m10.csv (2022-10, and line 3 a copy of m09.csv line 2) meets m09.csv's periods
    (2022-08..09) only; m11.csv (2022-11) meets none. Each step equals a fresh ingest of the same files."""
    import json

    data = tmp_path / "monthly"
    (data / "raw").mkdir(parents=True)
    _write(data, "units.csv", [[ANHUI_UNIT[c] for c in RAW_TABLES["units"].columns]], table="units")
    late = _row("U1", "2022-08")
    late[4] = "351.00"
    _write(data, "340000/m08.csv", [_row("U1", "2022-08")])
    _write(data, "340000/m09.csv", [_row("U1", "2022-09"), late])
    state = data / "warehouse" / "staged" / "contributions" / "anhui-2022" / "clean-state.json"

    def step(name: str) -> list[str]:  # ingested as a month's run, then fresh: equal; the raw files searched
        kept = _ingested(data)
        fresh = tmp_path / f"fresh_{name}"
        shutil.copytree(data / "raw", fresh / "raw")
        assert kept == _ingested(fresh), name
        record = json.loads(state.read_text(encoding="utf-8"))
        return sorted(record["inputs"][judged][1] for judged in record["searched"])

    step("first")
    _write(data, "340000/m10.csv", [_row("U1", "2022-10"), _row("U1", "2022-09")])
    assert step("m10") == ["raw/contributions/340000/m09.csv"]
    _write(data, "340000/m11.csv", [_row("U1", "2022-11")])
    assert step("m11") == []
    con = duckdb.connect()
    quarantined = con.execute(
        f"SELECT source_file, source_line, rule FROM read_parquet('{data}/quarantine/contributions/*.parquet') "
        "ORDER BY ALL"
    ).fetchall()
    key = "duplicate_key:unit_id,person_id,period"
    assert quarantined == [("raw/contributions/340000/m08.csv", 2, key), ("raw/contributions/340000/m09.csv", 3, key)]
    duplicates = con.execute(
        f"SELECT source_file, source_line FROM read_parquet('{data}/warehouse/duplicates/contributions/*.parquet')"
    ).fetchall()
    assert duplicates == [("raw/contributions/340000/m10.csv", 3)]
    # m09.csv withdrawn: the 2022-08 key occurs once now, m08.csv line 2 is accepted; nothing new to look for
    (data / "raw" / "contributions" / "340000" / "m09.csv").unlink()
    assert step("withdrawn") == []
    accepted = _ingested(data)["warehouse/clean/contributions/anhui-2022"]
    assert sorted(r[2] for r in accepted) == ["2022-08", "2022-09", "2022-10", "2022-11"]
