"""Issue 14: every expectation of every suite gives the same verdict, row by row, in Great Expectations
(pandas, Python's re) and in the SQL ingest compiles from it (DuckDB, RE2), over tricky values."""

import json
import shutil
import sys
import unicodedata
from pathlib import Path

import duckdb
import great_expectations as gx
import pandas as pd
import pytest

from assets.contracts import RAW_TABLES, load_suite
from assets.ingest.rules import TRIM_CHARS, _expectation_predicate
from tests.conftest import PERSON_A, USCC_A


def _decimal_digit_blocks() -> list[str]:
    """The ten digits of every Unicode decimal digit block (Nd), e.g. full-width, Arabic-Indic, Devanagari."""
    zeros = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Nd" and unicodedata.decimal(chr(c)) == 0
    ]
    return ["".join(chr(ord(z) + i) for i in range(10)) for z in zeros]


BLOCKS = _decimal_digit_blocks()
GOOD = [
    "300.00",
    "0",
    "2022-08",
    "202208",
    "2022-08-01",
    "340100",
    PERSON_A,
    USCC_A,
    "enterprise",
    "opt_out",
    "employer_medical",
    "regular",
    "small",
    "statistics",
    "departure",
    "12",
]
WHITE = ["\u00a0", "\u2007", "\u202f", "\u200b", "\u200d", "\ufeff", "\u3000", "\t", "\u2028", "\u0085", "\x0b"]
CORPUS = [
    *GOOD,
    *BLOCKS,  # every block's ten digits
    *(b[3] + b[0] + b[0] for b in BLOCKS),  # 300 in every script
    *(f"{b[3]}{b[0]}{b[0]}.00" for b in BLOCKS),
    *(f"{b[2]}{b[0]}{b[2]}{b[2]}-08" for b in BLOCKS),
    *(PERSON_A[:-2] + b[0] + "X" for b in BLOCKS),
    *(w + v for w in WHITE for v in ("300.00", "2022-08", PERSON_A)),
    *(v + w for w in WHITE for v in ("300.00", "2022-08-01", USCC_A)),
    *("300" + w + ".00" for w in WHITE),
    # full-width forms
    "３００.00",
    "３００．００",
    "１，０００",
    "２０２２-08",
    "2022－08－01",
    "２０２２０８",
    "９１３４０１００１２３４５６７８８Ｌ",
    "１１０１０５１９４９１２３１００２Ｘ",
    "ｅｎｔｅｒｐｒｉｓｅ",
    "opt＿out",
    # Excel
    "3.40101E+17",
    "3.40101e+17",
    "1.10105E+17",
    "340101198001010000.0",
    "'11010519491231002X",
    "'300.00",
    "110105194912310000",
    "44774",
    "44774.0",
    "2022/8/1",
    "2022年8月1日",
    "2022.08",
    "2022年08月",
    "2022/08",
    "20220801",
    # case and look-alike letters
    PERSON_A.lower(),
    USCC_A.lower(),
    USCC_A[:3] + "O" + USCC_A[4:],
    USCC_A[:3] + "I" + USCC_A[4:],
    "Enterprise",
    "ENTERPRISE",
    "enterprise ",
    " opt_out",
    # numbers at the edge of the money rule
    "-5",
    "+5",
    "5.",
    ".5",
    "5.123",
    "1e3",
    "1,000",
    "00",
    "0.00",
    "1_000",
    "٣٠٠",
    "Ⅲ",
    "²",
    # lines and nothing
    "300.00\n",
    "30\n0",
    "\n300",
    "2022-08\n",
    "",
    " ",
    None,
]


def _cleaned(values: list) -> list:
    con = duckdb.connect()
    con.execute("CREATE TABLE c (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO c VALUES (?, ?)", list(enumerate(values)))
    return [v for (v,) in con.execute(f"SELECT nullif(trim(v, {TRIM_CHARS}), '') FROM c ORDER BY i").fetchall()]


def _sql_unexpected(expectation: dict, values: list) -> set[int]:
    column = expectation["kwargs"]["column"]
    con = duckdb.connect()
    con.execute(f'CREATE TABLE t (i INTEGER, "{column}" VARCHAR)')
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate(values)))
    return {i for (i,) in con.execute(f"SELECT i FROM t WHERE {_expectation_predicate(expectation)}").fetchall()}


@pytest.fixture(scope="module")
def gx_verdicts():
    """Per table: each expectation's unexpected row indexes under Great Expectations."""
    values = _cleaned(CORPUS)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas("corpus")
    out = {}
    for table in RAW_TABLES:
        spec = load_suite(table)
        frame = pd.DataFrame({c: pd.Series(values, dtype="object") for c in RAW_TABLES[table].columns})
        suite = context.suites.add(gx.ExpectationSuite(name=table, expectations=spec["expectations"]))
        batch = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("all")
        validation = context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
        result = validation.run(batch_parameters={"dataframe": frame}, result_format={"result_format": "COMPLETE"})
        out[table] = {
            (r.expectation_config.type, r.expectation_config.kwargs["column"]): set(
                r.result.get("unexpected_index_list") or []
            )
            for r in result.results
        }
    return values, out


@pytest.mark.parametrize("table", list(RAW_TABLES))
def test_every_expectation_gives_the_same_verdict_in_both_engines(gx_verdicts, table):
    values, verdicts = gx_verdicts
    assert len(BLOCKS) > 50  # Unicode has dozens of decimal digit blocks
    for expectation in load_suite(table)["expectations"]:
        key = (expectation["type"], expectation["kwargs"]["column"])
        gx_rows, sql_rows = verdicts[table][key], _sql_unexpected(expectation, values)
        if expectation["type"] == "expect_column_values_to_not_be_null":
            assert gx_rows == sql_rows, key
        else:  # GX leaves nulls to the required rule; so does the SQL (`IS NOT NULL AND ...`)
            assert gx_rows == sql_rows, (key, sorted(CORPUS[i] for i in gx_rows ^ sql_rows)[:10])
    # the corpus really exercises the rules: every non-ASCII digit form is rejected by every regex rule
    money = next(
        e
        for e in load_suite("contributions")["expectations"]
        if e["kwargs"]["column"] == "employer_medical" and e["type"] == "expect_column_values_to_match_regex"
    )
    rejected = _sql_unexpected(money, values)
    assert all(CORPUS.index(f"{b[3]}{b[0]}{b[0]}.00") in rejected for b in BLOCKS[1:])


def _lenient_money(monkeypatch) -> None:
    """Drift: the SQL for money:employer_medical accepts anything (GX still rejects what the suite does)."""
    import assets.ingest.rules as rules

    real = rules._expectation_predicate

    def lenient(expectation):
        if expectation["kwargs"]["column"] == "employer_medical" and expectation["type"].endswith("match_regex"):
            return "FALSE"
        return real(expectation)

    monkeypatch.setattr(rules, "_expectation_predicate", lenient)


def _ingest_contributions(data_dir: Path):
    """units and contributions ingested, with the contributions' GX and accounting checks."""
    import dagster as dg

    from assets.ingest.assets import ingest_assets
    from assets.ingest.checks import accounting_checks
    from assets.resources import warehouse_resource
    from assets.validation.gx_checks import gx_checks

    picked = [a for a in ingest_assets if a.key.path[-1] in ("units", "contributions")]
    checks = [
        c
        for c in [*gx_checks, *accounting_checks]
        if any(k.asset_key.path[-1] == "contributions" for k in c.check_keys)
    ]
    return dg.materialize([*picked, *checks], resources={"warehouse": warehouse_resource(str(data_dir))})


def test_a_disagreement_quarantines_under_the_stricter_verdict_and_the_run_goes_on(sample_copy, monkeypatch):
    """Simulate drift: the SQL for money:employer_medical accepts anything, GX still rejects '-5' and '３００.00'.
    The rows are quarantined (GX's verdict), the check warns without blocking, and the accounting holds."""
    import dagster as dg

    _lenient_money(monkeypatch)
    result = _ingest_contributions(sample_copy)
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    gx_check = evaluations["gx_verdicts_match_quarantine"]
    assert not gx_check.passed and gx_check.severity == dg.AssetCheckSeverity.WARN
    assert gx_check.metadata["engines_disagree_on"].value == ["money:employer_medical"]
    assert evaluations["rows_accounted_for"].passed
    quarantined = dict(
        duckdb.connect()
        .execute(
            f"SELECT json_extract_string(raw_values, '$.employer_medical'), rule FROM read_parquet("
            f"'{sample_copy}/quarantine/contributions/*.parquet') WHERE rule LIKE '%gx_only%'"
        )
        .fetchall()
    )
    # the sample plants '-5' and a full-width '３００.00' in employer_medical (raw/manifest.json)
    assert quarantined == {
        "-5": "money:employer_medical;gx_only:employer_medical",
        "３００.00": "money:employer_medical;gx_only:employer_medical",
    }


def test_a_new_export_is_judged_by_gx_alone_and_gives_what_judging_every_file_gives(sample_copy, tmp_path, monkeypatch):
    """A GX pass's outcome is kept beside its inputs' verdicts (assets/ingest/gx_records.py): after a new
    export only that file is judged by GX, the GX-only rejections kept from the other files are applied
    again, and the quarantine and GX's counts are a run's on all files from scratch (here with the
    drift above, so that GX-only rejections exist in an old file and in the new one)."""
    from assets.ingest import gx_runner

    _lenient_money(monkeypatch)
    assert _ingest_contributions(sample_copy).success
    judged = []  # the verdicts files of the inputs of each GX pass
    judge = gx_runner._judge
    monkeypatch.setattr(gx_runner, "_judge", lambda *args: judged.append([i.judged for i in args[4]]) or judge(*args))
    header, first = (
        (data := sample_copy / "raw" / "contributions")
        .joinpath("contributions_anhui_2023.csv")
        .read_text()
        .splitlines()[:2]
    )
    cells = first.split(",")
    late = [first, ",".join([*cells[:2], "202308", cells[3], "-5", *cells[5:]])]  # a copy; a negative amount
    (data / "contributions_late.csv").write_text("\n".join([header, *late]) + "\n", encoding="utf-8")
    assert _ingest_contributions(sample_copy).success
    con = duckdb.connect()
    assert [[con.execute(f"SELECT DISTINCT source_file FROM '{j}'").fetchall() for j in p] for p in judged] == [
        [[("raw/contributions/contributions_late.csv",)]]
    ]
    scratch = tmp_path / "scratch"
    shutil.copytree(sample_copy / "raw", scratch / "raw")
    assert _ingest_contributions(scratch).success

    def outputs(root: Path) -> dict:
        found = {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "quarantine").rglob("*.parquet"))}
        record = json.loads((root / "warehouse" / "validation" / "contributions.json").read_text(encoding="utf-8"))
        found["validation"] = [record["expectations"], record["coverage"], record["quarantine_by_rule"]]
        return found

    kept, fresh = outputs(sample_copy), outputs(scratch)
    assert sorted(kept) == sorted(fresh) and [name for name in fresh if kept[name] != fresh[name]] == []
    gx_only = con.execute(
        f"SELECT source_file, json_extract_string(raw_values, '$.employer_medical') FROM read_parquet("
        f"'{sample_copy}/quarantine/contributions/*.parquet') WHERE rule LIKE '%gx_only%' ORDER BY ALL"
    ).fetchall()
    assert [v for f, v in gx_only if f == "raw/contributions/contributions_late.csv"] == ["-5"]
    assert sorted(v for f, v in gx_only if f != "raw/contributions/contributions_late.csv") == ["-5", "３００.00"]


def test_in_sample_mode_a_stricter_sql_is_always_caught(sample_copy, monkeypatch):
    """GX judges every row the SQL rejected (and a sample of the rest), so SQL that rejects rows GX
    accepts is caught whatever the sample: here the SQL also rejects employer_medical holding a 5."""
    import dagster as dg

    import assets.ingest.rules as rules
    from assets.ingest.assets import ingest_assets
    from assets.ingest.checks import accounting_checks
    from assets.resources import warehouse_resource
    from assets.settings import Settings
    from assets.validation.gx_checks import gx_checks

    real = rules._expectation_predicate

    def strict(expectation):
        if expectation["kwargs"]["column"] == "employer_medical" and expectation["type"].endswith("match_regex"):
            return f"({real(expectation)}) OR contains(\"employer_medical\", '5')"
        return real(expectation)

    monkeypatch.setattr(rules, "_expectation_predicate", strict)
    # the stricter rule is no longer the suite's format, so a raw cell's match of that format settles
    # nothing (rules.settled_columns): every cell is judged by the rule
    monkeypatch.setattr(rules, "settled_columns", lambda table, typed=frozenset(): {})
    picked = [a for a in ingest_assets if a.key.path[-1] in ("units", "contributions")]
    checks = [
        c
        for c in [*gx_checks, *accounting_checks]
        if any(k.asset_key.path[-1] == "contributions" for k in c.check_keys)
    ]
    resource = warehouse_resource(str(sample_copy), settings=Settings(gx_sample_rows=100))
    result = dg.materialize([*picked, *checks], resources={"warehouse": resource})
    assert result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    gx_check = evaluations["gx_verdicts_match_quarantine"]
    assert not gx_check.passed and gx_check.severity == dg.AssetCheckSeverity.WARN
    assert gx_check.metadata["gx_mode"].value == "sample"
    assert gx_check.metadata["rows_evaluated_by_gx"].value < gx_check.metadata["rows_checked_by_sql"].value
    assert gx_check.metadata["engines_disagree_on"].value == ["money:employer_medical"]
    record = {e["rule"]: e for e in gx_check.metadata["expectation_results"].value}["money:employer_medical"]
    money = next(
        e
        for e in load_suite("contributions")["expectations"]
        if e["kwargs"]["column"] == "employer_medical" and e["type"] == "expect_column_values_to_match_regex"
    )["kwargs"]["regex"]
    # quarantined for money:employer_medical although the value is well formed: what only the SQL rejects
    holding_5 = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM (SELECT trim(json_extract_string(raw_values, '$.employer_medical')) AS v, rule "
            f"FROM read_parquet('{sample_copy}/quarantine/contributions/*.parquet')) "
            "WHERE list_contains(string_split(rule, ';'), 'money:employer_medical') AND regexp_full_match(v, ?)",
            [money],
        )
        .fetchall()[0][0]
    )
    assert record["sql_only"] == holding_5 > 100  # every one of them, though GX judged only a sample
    assert evaluations["rows_accounted_for"].passed
