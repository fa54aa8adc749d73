"""Materialize every ingest asset and check on the committed tiny sample through Dagster."""

import json

import dagster as dg
import duckdb
import pytest

from assets.contracts import ingest_key
from assets.ingest.assets import ingest_assets
from assets.ingest.checks import accounting_checks
from assets.resources import warehouse_resource
from assets.validation.gx_checks import gx_checks
from tests.trust import copy_sample


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    copy_sample(root)
    result = dg.materialize(
        [*ingest_assets, *accounting_checks, *gx_checks], resources={"warehouse": warehouse_resource(str(root))}
    )
    manifest = json.loads((root / "raw" / "manifest.json").read_text())
    return root, result, manifest


def test_run_succeeds_and_every_check_passes(sample_run):
    _, result, _ = sample_run
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 18
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_quarantine_counts_equal_the_manifest(sample_run):
    root, result, manifest = sample_run
    for table, expected in manifest["tables"].items():
        md = result.asset_materializations_for_node(f"ingest__{table}")[0].metadata
        assert md["rows_read"].value == expected["rows"], table
        assert md["quarantine_by_rule"].value == expected["quarantined"], table
        assert md["exact_duplicates"].value == expected["exact_duplicates"], table
        quarantined_rows = (
            duckdb.connect()
            .execute(f"SELECT count(*) FROM read_parquet('{root}/quarantine/{table}/*.parquet')")
            .fetchall()[0][0]
        )
        assert md["quarantined"].value == quarantined_rows


def test_warnings_equal_the_manifest(sample_run):
    _, result, manifest = sample_run
    warnings = result.asset_materializations_for_node("ingest__units")[0].metadata["warnings"].value
    assert warnings["uscc_inner_check:uscc"]["count"] == manifest["planted"]["warnings"]["uscc_inner_check"]
    assert warnings["unit_type_prefix"]["count"] == manifest["planted"]["warnings"]["unit_type_prefix"]


def test_gx_metadata_lists_each_expectation(sample_run):
    _, result, _ = sample_run
    evaluation = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == ingest_key("units") and e.check_name == "gx_verdicts_match_quarantine"
    )
    results = evaluation.metadata["expectation_results"].value
    unit_type = next(r for r in results if r["rule"] == "enum:unit_type")
    assert (unit_type["unexpected_count"], unit_type["success"]) == (1, False)
    assert next(r for r in results if r["rule"] == "required:unit_id")["success"] is True


def test_data_docs_built(sample_run):
    root, _, _ = sample_run
    index = (root / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert (root / "data_docs" / "units" / "index.html").exists() and 'href="units/index.html"' in index
    # contributions are validated one province at a time: a Data Docs site per province, each linked
    for province in ("anhui-2022", "shanxi-2022"):
        assert (root / "data_docs" / "contributions" / province / "index.html").exists()
        assert f'href="contributions/{province}/index.html"' in index


def test_accounting_check_fails_when_a_row_goes_missing(sample_run, tmp_path):
    """The identity is counted from the files: drop one accepted row and the check fails."""
    root, _, _ = sample_run
    # the accepted rows are a file per input file: one of them loses a row
    clean = max((root / "warehouse" / "clean" / "elections").glob("part-*.parquet"), key=lambda p: p.stat().st_size)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_parquet('{clean}') LIMIT (SELECT count(*) - 1 FROM read_parquet('{clean}'))) TO "
        f"'{tmp_path}/e.parquet'"
    )
    original = clean.read_bytes()
    clean.write_bytes((tmp_path / "e.parquet").read_bytes())
    try:
        check = next(
            c
            for c in accounting_checks
            if ingest_key("elections") in c.keys_by_output_name.values()
            or any(k.asset_key == ingest_key("elections") for k in c.check_keys)
        )
        result = dg.materialize(
            [*ingest_assets, check],
            resources={"warehouse": warehouse_resource(str(root))},
            selection=dg.AssetSelection.checks(*check.check_keys),
            raise_on_error=False,
        )
        evaluation = result.get_asset_check_evaluations()[0]
        assert evaluation.passed is False
        assert evaluation.metadata["unaccounted"].value == 1
    finally:
        clean.write_bytes(original)
