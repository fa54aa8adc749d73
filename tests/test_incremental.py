"""Monthly operation: what a run keeps from earlier runs gives, byte for byte, what a run from scratch
on the same files gives; a late record recomputes exactly the report months it touches."""

import json
import os
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.contracts import RAW_TABLES
from tests.trust import copy_sample, deferral, manifest_content, run_here, workbook_content

# the late-payment world is run as of 2023-03: the payment's month (2023-02) and one after it
AS_OF = "2023-03"
MONTHS = [f"2022-{m:02d}" for m in range(7, 13)] + [f"2023-{m:02d}" for m in range(1, 4)]


def outputs(data: Path) -> dict[str, bytes]:
    """Every published file (Parquet, workbooks, charts, notice lists) and every quarantine file, by
    path; the publication's manifest and its month's workbooks without their history (the run, the
    raw files' names, the previous publication and what was restated against it: tests/trust.py)."""
    found = {}
    published = (data / "published").resolve()
    for path in sorted(published.rglob("*")):
        if path.is_file():
            found[f"published/{path.relative_to(published)}"] = path.read_bytes()
    found["published/PUBLICATION.json"] = manifest_content(found["published/PUBLICATION.json"])
    month = json.loads((published / "PUBLICATION.json").read_text())["as_of_month"]
    for name in [n for n in found if n.endswith(f"_{month}.xlsx") and "/report_" in n]:
        found[name] = workbook_content(published / name.removeprefix("published/"))  # 更正说明 aside
    for path in sorted((data / "quarantine").rglob("*.parquet")):
        found[str(path.relative_to(data))] = path.read_bytes()
    # the report months' own files too (a kept month's and one computed now alike), the allocations that
    # only monthly_statistics and `deferral explain` read among them
    for path in sorted((data / "warehouse" / "policy").glob("*/*/*.parquet")):
        found[str(path.relative_to(data))] = path.read_bytes()
    return found


def assert_same(incremental: Path, scratch: Path) -> None:
    kept, fresh = outputs(incremental), outputs(scratch)
    assert sorted(kept) == sorted(fresh)
    assert [name for name in fresh if kept[name] != fresh[name]] == []


def from_scratch(data: Path, target: Path, *args: str) -> Path:
    """A fresh data dir holding the same raw files, run once (with ``args``)."""
    shutil.copytree(data / "raw", target / "raw")
    result = run_here(target, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def test_month_by_month_exports_give_what_one_run_on_all_files_gives(tmp_path):
    data = tmp_path / "monthly"
    parts = data / "warehouse" / "policy" / "unit_period_contributions.parts"
    summed, accepted = [], []
    # two months of exports after the first three: the property is the same for any month added
    for through in ("2022-09", "2022-10"):
        made = deferral(
            data, "generate", "--data-dir", str(data), "--scale", "tiny", "--seed", "5", "--through", through
        )
        assert made.returncode == 0, made.stdout + made.stderr
        result = run_here(data)
        assert result.returncode == 0, result.stdout + result.stderr
        summed.append({p.name: p.stat().st_mtime_ns for p in parts.glob("*.parquet")})
        accepted.append({p: p.stat().st_mtime_ns for p in (data / "warehouse/clean/contributions").glob("*/*.parquet")})
    assert (data / "raw" / "contributions" / "contributions_2022-10.csv").exists()
    assert_same(data, from_scratch(data, tmp_path / "scratch"))
    # the per-unit sums: a result per accepted-row file, kept while the file is (the new month's files and
    # those written again are summed anew), and together what summing every accepted row gives
    clean = sorted(accepted[1])
    assert len(summed[1]) == len(clean)
    kept = {name for name, mtime in summed[1].items() if summed[0].get(name) == mtime}
    unchanged = [p for p in clean if accepted[0].get(p) == accepted[1][p]]
    assert len(kept) == len(unchanged) > 0
    con = duckdb.connect()
    table = data / "warehouse" / "policy" / "unit_period_contributions.parquet"
    assert (
        con.execute(f"FROM '{table}'").fetchall()
        == con.execute(
            "SELECT unit_id, period, sum(employer_medical), sum(employer_maternity), sum(employee_medical), count(*) "
            f"FROM read_parquet({[str(p) for p in clean]}) GROUP BY unit_id, period ORDER BY unit_id, period"
        ).fetchall()
    )


def digests(data: Path, asset: str) -> dict[tuple[str, str], str]:
    """(province, month) -> the digest a report-month partition was computed from."""
    folder = data / "warehouse" / "policy" / asset
    return {(p.stem, p.parent.name): json.loads(p.read_text())["digest"] for p in folder.glob("*/*.digest")}


@pytest.fixture(scope="module")
def late_payment(tmp_path_factory):
    """The sample run, then one repayment paid on 2023-02-10 arriving in a file of its own (an export
    made later), run again."""
    data = copy_sample(tmp_path_factory.mktemp("late"))
    assert run_here(data, "--as-of", AS_OF).returncode == 0
    first_publication = (data / "published").resolve().name
    unchanged = run_here(data, "--as-of", AS_OF)  # nothing changed: nothing to compute or publish
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert (data / "published").resolve().name == first_publication
    before = {a: digests(data, a) for a in ("repayment_schedule", "deferral_decisions", "monthly_statistics")}
    scoped = [cut_files(data)]
    con = duckdb.connect()
    (uscc,) = con.execute(
        f"SELECT uscc FROM read_parquet('{data}/published/repayment_schedule/*.parquet') "
        "WHERE region_code LIKE '34%' AND outstanding_amount > 0 ORDER BY obligation_id LIMIT 1"
    ).fetchall()[0]
    late = data / "raw" / "tax_payments" / "tax_payments_late_2023-02.csv"
    late.write_text(
        "payment_id,uscc,period,component,amount,paid_on,payment_kind\n"
        f"LATE000001,{uscc},2022-09,employer_medical,10.00,2023-02-10,repayment\n",
        encoding="utf-8",
    )
    result = run_here(data, "--as-of", AS_OF)
    assert result.returncode == 0, result.stdout + result.stderr
    after = {a: digests(data, a) for a in before}
    scoped.append(cut_files(data))
    return data, before, after, result.stdout, scoped, unchanged.stdout, first_publication


def cut_files(data: Path) -> dict[tuple[str, str], dict[str, int]]:
    """(table, province) -> the files holding the province's rows of a shared table (a file per file of the
    table), each with when it was written."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    for p in (data / "warehouse" / "scoped").glob("*/*/*.parquet"):
        found.setdefault((p.parent.parent.name, p.parent.name), {})[p.name] = p.stat().st_mtime_ns
    return found


def test_a_rerun_with_nothing_changed_computes_and_publishes_nothing(late_payment):
    data, *_, unchanged, first_publication = late_payment
    assert f"nothing changed since publication {first_publication} (as of {AS_OF}" in unchanged
    assert "runs: ingest_job SUCCESS" in unchanged and "monthly_job" not in unchanged
    # the late payment's run published anew, naming the first publication as the one it restates
    manifest = json.loads((data / "published" / "PUBLICATION.json").read_text(encoding="utf-8"))
    assert manifest["previous"] == first_publication and manifest["month_inputs"]


def test_a_late_payment_recomputes_exactly_the_months_from_its_date(late_payment):
    data, before, after, stdout, *_ = late_payment
    assert "report months 2022-07 to 2023-01: inputs unchanged since computed, kept" in stdout
    changed = {(p, m) for (p, m), d in after["repayment_schedule"].items() if before["repayment_schedule"][(p, m)] != d}
    # paid in 2023-02 by an Anhui unit: Anhui's months from 2023-02 on, no Shanxi month, no earlier month
    assert changed == {("anhui-2022", m) for m in MONTHS if m >= "2023-02"}
    # the deferral list reads the payments too (as known on each month's last day): the same months
    decisions = after["deferral_decisions"]
    assert {k for k, d in decisions.items() if before["deferral_decisions"][k] != d} == changed


def test_the_new_publication_links_the_history_months_whose_inputs_are_unchanged(late_payment):
    data, *_, first_publication = late_payment
    first, new = data / "publications" / first_publication, (data / "published").resolve()
    assert new != first
    for table in ("monthly_statistics", "repayment_notices", "unit_status", "risk_watch"):
        months = sorted(p.name for p in (new / table).glob("report_month=*"))
        assert months == [f"report_month={m}" for m in MONTHS], table
        for month in MONTHS:
            (part,) = (new / table / f"report_month={month}").glob("*.parquet")
            old = first / table / f"report_month={month}" / part.name
            # before 2023-02 no province's month was recomputed: the first publication's very file;
            # from 2023-02 Anhui's months were, so the month's file is written anew
            assert (old.exists() and os.path.samefile(old, part)) == (month < "2023-02"), (table, month)


def test_a_province_s_rows_of_a_shared_table_are_cut_once_for_each_version_of_it(late_payment):
    *_, (first, second), _, _ = late_payment
    # the files the report months read for a province's rows (the payments, the units, the summaries)
    assert {p for t, p in first if t == "tax_payments"} == {"anhui-2022", "shanxi-2022"}
    assert {("units", "anhui-2022"), ("unit_period_contributions", "shanxi-2022")} <= set(first)
    assert set(second) == set(first)
    # the late payment is a new file of the payments: each province's cut of it is made — Anhui's months read
    # it, and the run's plan reads every province's rows through the same cuts (assets/month_digests.py),
    # Shanxi's too, although no Shanxi month was computed; each earlier file's cut is kept as written (the
    # earlier files are: a first copy stays in its own file, assets/ingest/resolve.py); the other tables
    # were read from their cuts, not cut again
    for province in ("anhui-2022", "shanxi-2022"):
        before, after = first[("tax_payments", province)], second[("tax_payments", province)]
        assert len(set(after) - set(before)) == 1 and not set(before) - set(after), province
        assert {n: t for n, t in after.items() if n in before} == {n: t for n, t in before.items() if n in after} != {}
    kept = {k for k in first if k[1] == "shanxi-2022" or k[0] in RAW_TABLES} - {
        ("tax_payments", "anhui-2022"),
        ("tax_payments", "shanxi-2022"),
    }
    kept |= {("unit_period_contributions", "anhui-2022"), ("event_person_contributions", "anhui-2022")}
    assert len(kept) > 10 and {k: second[k] for k in kept} == {k: first[k] for k in kept}


def test_a_late_payment_gives_what_a_run_from_scratch_gives(late_payment, tmp_path):
    data, *_ = late_payment
    assert_same(data, from_scratch(data, tmp_path / "scratch", "--as-of", AS_OF))
    # what differs is history: the new publication's workbook lists what the late payment restated, in
    # Anhui's months from 2023-02 on (the payment's month), naming its file; Shanxi restates nothing
    from openpyxl import load_workbook

    report = data / "published" / "report"
    anhui = load_workbook(report / "340000" / AS_OF / f"report_340000_{AS_OF}.xlsx")["更正说明"]
    rows = [r for r in anhui.iter_rows(min_row=4, values_only=True) if r[1]]  # a figure's row has its region code
    assert rows and {r[2] for r in rows} <= {m for m in MONTHS if m >= "2023-02"}
    assert all(r[8] == "新增或变更的数据文件：raw/tax_payments/tax_payments_late_2023-02.csv" for r in rows)
    shanxi = load_workbook(report / "140000" / AS_OF / f"report_140000_{AS_OF}.xlsx")["更正说明"]
    assert next(r[0] for r in shanxi.iter_rows(min_row=4, values_only=True) if r[0]).startswith("无更正")


def test_the_repayment_allocations_are_written_in_a_fixed_order(late_payment):
    """Each month's allocations (which repayment paid which obligation) are rows of a join, which DuckDB
    emits in whatever order its threads finish: written sorted by every column, so two runs write the
    same bytes. The late-payment world's months hold repayments allocated across several obligations."""
    data, *_ = late_payment
    con = duckdb.connect()
    files = sorted((data / "warehouse" / "policy" / "repayment_allocations").glob("*/*.parquet"))
    assert len(files) == 2 * len(MONTHS)
    held = 0
    for path in files:
        rows = con.execute(f"SELECT obligation_id, payment_id FROM '{path}'").fetchall()
        assert rows == sorted(rows), path
        assert len(set(rows)) == len(rows), path  # the key is unique, so the order is total
        held += len(rows)
    assert held > 100
