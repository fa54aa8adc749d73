"""Issue 13: contributions ingested one province at a time (assets/ingest/shares.py).

Files under raw/contributions/<province_code>/ are that province's; other files' rows go to the
province of their unit. Every expected value below follows from those rules and SPEC section 4's
identity (rows read = accepted + quarantined + exact duplicates), worked out by hand."""

import csv

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
    clean = warehouse.clean_path("contributions", "anhui-2022").parent
    assert sorted(p.name for p in clean.iterdir()) == ["anhui-2022.parquet", "shanxi-2022.parquet"]

    def rows(path, columns):
        return con.execute(f"SELECT {columns} FROM read_parquet('{path}') ORDER BY ALL").fetchall()

    assert rows(clean / "anhui-2022.parquet", "unit_id, period") == [("U1", "2022-08"), ("U1", "2022-09")]
    assert rows(clean / "shanxi-2022.parquet", "unit_id, period") == [("U2", "2022-08"), ("U2", "2022-09")]
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
