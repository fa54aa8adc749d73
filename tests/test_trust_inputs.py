"""Issue 8, trust: every bad input refused by name or quarantined under its rule: headers (4), field-count
rejects (5), encodings (8), missing or broken files (9), error lines (10), NUL bytes and long cells."""

import shutil

import dagster as dg
import pytest

from tests.trust import copy_sample, run_here


def test_case_4_misspelled_or_repeated_header_is_an_error_naming_file_and_column(tmp_path):
    data = copy_sample(tmp_path)
    units = data / "raw" / "units" / "units_a.csv"
    units.write_text(
        units.read_text(encoding="utf-8-sig").replace("deregistered_on", "deregisterd_on", 1), encoding="utf-8"
    )
    result = run_here(data)
    assert result.returncode == 1
    assert "units_a.csv: column 'deregisterd_on' is not in the contract" in result.stdout
    assert "Stack Trace" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not (data / "published").exists()

    from assets.ingest.sources import BadInputFile, check_header

    with pytest.raises(BadInputFile, match="unit_id appears more than once"):
        check_header(units, ["unit_id", "uscc", "unit_id"], ("unit_id", "uscc"))


def test_case_5_field_count_reject_is_recorded_once_with_its_line(tmp_path):
    import duckdb

    from assets.ingest.assets import ingest_assets
    from assets.resources import warehouse_resource

    data = copy_sample(tmp_path)
    elections = data / "raw" / "elections" / "elections.csv"
    lines_before = len(elections.read_text(encoding="utf-8").splitlines())
    with open(elections, "a", encoding="utf-8") as fh:
        fh.write("U0000099,opt_out,2022-07-20,EXTRA_FIELD\n")
    records = lines_before  # header + existing records - header + the new one
    records += len((data / "raw" / "elections" / "zz_corrections.csv").read_text(encoding="utf-8").splitlines()) - 1
    units, elect = (
        next(a for a in ingest_assets if a.key.path[-1] == "units"),
        next(a for a in ingest_assets if a.key.path[-1] == "elections"),
    )
    from assets.ingest.checks import accounting_checks

    check = next(c for c in accounting_checks if "elections" in str(c.check_keys))
    result = dg.materialize([units, elect, check], resources={"warehouse": warehouse_resource(str(data))})
    meta = result.asset_materializations_for_node("ingest__elections")[0].metadata
    assert meta["rows_read"].value == records
    rejects = (
        duckdb.connect()
        .execute(
            f"SELECT source_file, source_line FROM read_parquet('{data}/quarantine/elections/*.parquet') "
            "WHERE rule = 'field_count:record'"
        )
        .fetchall()
    )
    assert rejects == [("raw/elections/elections.csv", lines_before + 1)]
    evaluation = result.get_asset_check_evaluations()[0]
    assert evaluation.passed and evaluation.metadata["rows_read"].value == records


def test_case_5_accounting_counts_records_independently_of_the_reader(tmp_path):
    from assets.ingest.sources import count_records

    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"a,b\n1,2\n3,4")  # no trailing newline
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'a,b\n"x\ny",2\n\n3,4\n')  # a quoted newline and a blank line
    assert count_records(plain) == 2
    assert count_records(quoted) == 2


def test_case_5_a_file_is_counted_once_by_its_bytes(warehouse, data_dir, monkeypatch):
    """The accounting's own count of a raw file is kept by the file's SHA-256: a run counts a new or
    changed file, never one whose bytes it counted before."""
    from assets.ingest import counts

    folder = data_dir / "raw" / "elections"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_bytes(b"unit_id,elected\nU1,1\nU2,1\n")
    assert counts.records_in_files(warehouse, "elections") == 2
    counted, count = [], counts.count_records
    monkeypatch.setattr(counts, "count_records", lambda path: counted.append(path.name) or count(path))
    (folder / "b.csv").write_bytes(b"unit_id,elected\nU3,1\n")
    assert counts.records_in_files(warehouse, "elections") == 3 and counted == ["b.csv"]
    (folder / "a.csv").write_bytes(b"unit_id,elected\nU1,1\nU2,1\nU4,1\n")  # a corrected export
    assert counts.records_in_files(warehouse, "elections") == 4 and counted == ["b.csv", "a.csv"]
    assert counts.records_in_files(warehouse, "elections") == 4 and counted == ["b.csv", "a.csv"]


def test_case_8_latin1_file_that_decodes_as_gb18030_is_refused(tmp_path):
    from assets.ingest.sources import UndecodableFileError, detect_encoding

    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit_id,unit_name\nU1,Müller Bäckerei GmbH\nU2,Jörg Schäfer\n".encode("cp1252"))
    assert latin.read_bytes().decode("gb18030").count("\n") == 3  # the trap: the whole file decodes as GB18030
    with pytest.raises(UndecodableFileError, match="latin.csv.*Latin-1/cp1252"):
        detect_encoding(latin)
    chinese = tmp_path / "gb.csv"
    chinese.write_bytes(
        "unit_id,unit_name\nU1,合肥市包河区张记餐饮店\nU2,运城市盐湖区镕堃商贸有限公司\n".encode("gb18030")
    )
    assert detect_encoding(chinese) == "gb18030"  # a rare character (镕, 堃) among common ones is fine


@pytest.mark.parametrize(
    "damage, expected",
    [
        ("no_units", "raw/units is missing"),
        ("no_contributions", "raw/contributions is missing"),
        ("empty_raw", "raw/units is missing"),
        ("zero_byte_csv", "units_a.csv: the file is empty (0 bytes)"),
        ("truncated_parquet", "contributions_shanxi.parquet: not a readable Parquet file"),
    ],
)
def test_case_9_missing_empty_or_broken_input_names_the_file(tmp_path, damage, expected):
    data = copy_sample(tmp_path)
    raw = data / "raw"
    if damage == "no_units":
        shutil.rmtree(raw / "units")
    elif damage == "no_contributions":
        shutil.rmtree(raw / "contributions")
    elif damage == "empty_raw":
        for folder in raw.iterdir():
            shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
    elif damage == "zero_byte_csv":
        (raw / "units" / "units_a.csv").write_bytes(b"")
    else:
        path = raw / "contributions" / "contributions_shanxi.parquet"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = run_here(data)
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout
    assert "Traceback" not in result.stderr and "Stack Trace" not in result.stdout + result.stderr
    assert "CheckError" not in result.stdout + result.stderr
    assert "table" in result.stdout and "read" in result.stdout  # the summary still prints what was read


def test_case_10_summary_prints_the_first_meaningful_line_of_an_error():
    from pipelines.summary import first_meaningful_line

    message = (
        'Binder Error: Referenced column "x" not found in FROM clause!\nCandidate bindings: "y"\n\n'
        "LINE 1: SELECT x FROM t\n               ^^^^^\n"
    )
    assert first_meaningful_line(message) == 'Binder Error: Referenced column "x" not found in FROM clause!'
    assert (
        first_meaningful_line("dagster._core.definitions.events.Failure: raw/units is missing\n")
        == "raw/units is missing"
    )


def test_low_nul_byte_and_long_field_are_quarantined_under_their_own_rules(tmp_path):
    import duckdb

    from assets.ingest.assets import ingest_assets
    from assets.resources import warehouse_resource

    data = copy_sample(tmp_path)
    (data / "raw" / "elections" / "notes.txt").write_text("not data", encoding="utf-8")
    (data / "raw" / "elections" / "export.xlsx").write_bytes(b"PK")
    with open(data / "raw" / "units" / "units_a.csv", "a", encoding="utf-8") as fh:
        fh.write("U0009990,91340100123456788L,Bad\x00Name,340100,enterprise,,,\n")
        fh.write("U0009991,91340100123456788L," + "长" * 2_000_000 + ",340100,enterprise,,,\n")
    units, elect = (next(a for a in ingest_assets if a.key.path[-1] == t) for t in ("units", "elections"))
    result = dg.materialize([units, elect], resources={"warehouse": warehouse_resource(str(data))})
    rules = dict(
        duckdb.connect()
        .execute(
            f"SELECT json_extract_string(raw_values, '$.unit_id'), rule FROM "
            f"read_parquet('{data}/quarantine/units/*.parquet') "
            "WHERE json_extract_string(raw_values, '$.unit_id') IN ('U0009990', 'U0009991')"
        )
        .fetchall()
    )
    assert rules["U0009990"].startswith("control_character:unit_name")
    assert rules["U0009991"].startswith("too_long:unit_name")
    long_raw = (
        duckdb.connect()
        .execute(
            f"SELECT length(json_extract_string(raw_values, '$.unit_name')) FROM "
            f"read_parquet('{data}/quarantine/units/*.parquet') "
            "WHERE json_extract_string(raw_values, '$.unit_id') = 'U0009991'"
        )
        .fetchall()
    )
    assert long_raw == [(2_000_000,)]  # kept whole
    meta = result.asset_materializations_for_node("ingest__elections")[0].metadata
    assert meta["ignored_files"].value == ["raw/elections/export.xlsx", "raw/elections/notes.txt"]
