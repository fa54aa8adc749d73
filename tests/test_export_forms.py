"""Issue 14: the forms bureau exports really contain are quarantined under their rules, the run goes on,
and the validation report tells staff how to fix each one."""

import json
import re

import dagster as dg
import pytest

from assets.ingest.assets import ingest_assets
from assets.ingest.checks import accounting_checks
from assets.resources import warehouse_resource
from assets.validation.gx_checks import gx_checks
from assets.validation.report import validation_report
from tests.trust import copy_sample, raw_person_ids

# planted by the generator in the bundled sample (pipelines/synthetic/generate.py EXPORT_FORMS), by hand:
FORMS = {
    "contributions": {
        "fullwidth:employer_medical": 1,
        "fullwidth:contribution_base": 1,
        "fullwidth:period": 1,
        "date_format:period": 2,
        "excel_serial_date:period": 1,
        "fullwidth:person_id": 1,
        "excel_scientific:person_id": 1,
        "excel_float:person_id": 1,
        "leading_apostrophe:person_id": 1,
        "lowercase:person_id": 1,
        "excel_truncated:person_id": 1,
    },
    "tax_payments": {
        "date_format:paid_on": 3,
        "excel_serial_date:paid_on": 1,
        "fullwidth:paid_on": 1,
        "lowercase:uscc": 1,
        "excluded_letter:uscc": 1,
        "excel_scientific:uscc": 1,
    },
    "units": {"fullwidth:uscc": 1, "excluded_letter:uscc": 1, "lowercase:uscc": 1},
}


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    root = tmp_path_factory.mktemp("forms")
    copy_sample(root)
    result = dg.materialize(
        [*ingest_assets, *accounting_checks, *gx_checks, validation_report],
        resources={"warehouse": warehouse_resource(str(root))},
    )
    return root, result


def test_every_form_is_quarantined_under_its_rule_and_the_gx_check_passes(validated):
    root, result = validated
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    manifest = json.loads((root / "raw" / "manifest.json").read_text())
    for table, forms in FORMS.items():
        by_rule = result.asset_materializations_for_node(f"ingest__{table}")[0].metadata["quarantine_by_rule"].value
        for rule, n in forms.items():
            assert by_rule.get(rule) == n, (table, rule)
            assert manifest["tables"][table]["quarantined"].get(rule) == n, (table, rule)  # the manifest lists them


def test_ui_metadata_explains_each_rule_in_chinese(validated):
    _, result = validated
    explained = (
        result.asset_materializations_for_node("ingest__contributions")[0].metadata["quarantine_explained"].value
    )
    assert "| fullwidth:employer_medical | 1 | 含全角字符（全角数字、字母或标点） | 将输入法切换为半角" in explained


def test_validation_report_groups_rejections_with_hints_and_masked_examples(validated):
    root, _ = validated
    page = (root / "data_docs" / "validation_report.html").read_text(encoding="utf-8")
    row = re.search(
        r"<tr><td>excel_scientific:person_id</td><td>1</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>", page
    )
    assert row, "the report lists excel_scientific:person_id with its count"
    assert row.group(1) == "被 Excel 转为科学计数法"
    assert "请将该列设为文本后重新导出" in row.group(2)
    assert "fullwidth:employer_medical" in page and "将输入法切换为半角" in page
    assert re.search(r"<tr><td>leading_apostrophe:person_id</td><td>1</td>.*?<td>&#x27;110\*+[0-9X]{2}</td>", page)
    assert not any(pid in page for pid in raw_person_ids(root))
    assert "run " in page and str(root) in page  # which run and data dir wrote it
