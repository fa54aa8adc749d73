"""The deferral CLI: runs go through Dagster into a persistent DAGSTER_HOME; --as-of bounds the facts."""

import dagster as dg
import duckdb
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.synthetic.found import found_collection


def _gx_coverage(home, table: str) -> dict:
    """The gx_verdicts_match_quarantine check's coverage metadata of ``table`` in the latest run."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["ingest", table]), "gx_verdicts_match_quarantine")]
        )
        evaluation = next(iter(record.values())).event.dagster_event.event_specific_data
        return {k: evaluation.metadata[k].value for k in ("gx_mode", "rows_checked_by_sql", "rows_evaluated_by_gx")}


def test_run_as_of_records_the_run_and_publishes(sample_copy, tmp_path, changed_environment):
    monkeypatch = changed_environment
    home = tmp_path / "dagster_home"
    # (the run sets Dagster's switch for planned events in this process; the fixture removes it again)
    planned_switch = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
    for var in ("DAGSTER_HOME", "DEFERRAL_DATA_DIR", "DEFERRAL_AS_OF", planned_switch):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DEFERRAL_GX_SAMPLE_ROWS", "1000")  # the sample's 30,000 contributions: GX judges a sample
    monkeypatch.setenv("DEFERRAL_GX_DATA_DOCS", "0")  # GX's own site is not read here
    result = CliRunner().invoke(app, ["run", "--data-dir", str(sample_copy), "--as-of", "2022-10", "--verbose"])
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output and "published:" in result.output
    # --verbose: every line, the step's line of each partition's rows and time among them (the default
    # console folds a step into one line)
    shown = next(line for line in result.output.splitlines() if "deferral_ledger as of each month: " in line)
    assert "anhui-2022 2022-09 " in shown and "shanxi-2022 2022-10 " in shown
    con = duckdb.connect()
    periods = con.execute(
        f"SELECT max(period) FROM read_parquet('{sample_copy}/published/deferral_ledger/*.parquet')"
    ).fetchall()
    assert periods == [("2022-10",)]
    # the as-of date is 2022-10-31: repayments paid later do not count
    repaid = con.execute(
        f"SELECT sum(repaid_amount) FROM read_parquet('{sample_copy}/published/repayment_schedule/*.parquet')"
    ).fetchall()[0][0]
    by_october, ever = con.execute(
        f"SELECT sum(amount) FILTER (WHERE paid_on <= DATE '2022-10-31'), sum(amount) FROM read_parquet("
        f"'{sample_copy}/warehouse/clean/tax_payments/*.parquet') WHERE payment_kind = 'repayment'"
    ).fetchall()[0]
    assert repaid <= (by_october or 0) < ever
    with dg.DagsterInstance.from_config(str(home)) as instance:
        # the home the run made stores events through one engine per database file (pipelines/event_log.py),
        # in Dagster's own place for them
        assert type(instance.event_log_storage).__name__ == "HeldEngineSqliteEventLogStorage"
        assert sorted(p.name for p in (home / "history" / "runs").glob("*.db")) == sorted(
            [f"{r.run_id}.db" for r in instance.get_runs()] + ["index.db"]
        )
        runs = instance.get_runs()
        assert sorted(r.job_name for r in runs) == ["ingest_job", "monthly_job"]
        monthly = next(r for r in runs if r.job_name == "monthly_job")
        assert monthly.tags["deferral/as_of"] == "2022-10"
        # one run over the box of every province (first to last) x report months 2022-07..2022-10
        assert monthly.tags["dagster/asset_partition_range_start"] == "anhui-2022|2022-07"
        assert monthly.tags["dagster/asset_partition_range_end"] == "shanxi-2022|2022-10"
        assert instance.get_latest_materialization_event(dg.AssetKey(["published", "deferral_decisions"])) is not None
        # planned: one event per asset holding the run's range, not one per province-month (8 here; on
        # SQLite each is a write: docs/architecture.md); materialized: one per partition, each its own figures
        planned = instance.all_logs(monthly.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
        ledger = dg.AssetKey(["deferral_ledger"])
        mine = [e.dagster_event.event_specific_data for e in planned if e.dagster_event.asset_key == ledger]
        assert len(mine) == 1 and mine[0].partition is None and mine[0].partitions_subset is not None
        materialized = instance.all_logs(monthly.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        assert sorted(e.dagster_event.partition for e in materialized if e.dagster_event.asset_key == ledger) == [
            f"{p}|{m}" for p in ("anhui-2022", "shanxi-2022") for m in ("2022-07", "2022-08", "2022-09", "2022-10")
        ]
    coverage = _gx_coverage(home, "contributions")
    assert coverage["gx_mode"] == "sample"
    rejected = (
        duckdb.connect()
        .execute(
            f"SELECT count(*) FROM read_parquet('{sample_copy}/quarantine/contributions/*.parquet') "
            "WHERE rule NOT LIKE 'duplicate_key%' AND rule <> 'field_count:record'"
        )
        .fetchall()[0][0]
    )
    # every row the SQL rejected, and about 1,000 accepted rows per province: contributions are validated
    # one province at a time, the sample's two provinces about 15,000 rows each (one in 15 or so)
    assert rejected + 2 * 500 < coverage["rows_evaluated_by_gx"] < rejected + 2 * 2000 < coverage["rows_checked_by_sql"]


def test_run_rejects_a_bad_as_of(sample_copy):
    result = CliRunner().invoke(app, ["run", "--data-dir", str(sample_copy), "--as-of", "2022-13"])
    assert result.exit_code != 0


def test_generate_writes_the_manifest(tmp_path):
    result = CliRunner().invoke(app, ["generate", "--data-dir", str(tmp_path), "--scale", "tiny", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "raw" / "manifest.json").exists()


def test_full_run_finds_exactly_the_planted_discrepancies(keyed_run):
    """The generator plans deferrals on its own; the engine must reach the same list, so the only
    discrepancies are the ones the generator planted (raw/manifest.json). Read from the session's sample
    run (``keyed_run``: `deferral run --full-validation` with GX's sample set to 1,000 rows)."""
    import json

    sample_copy, _ = keyed_run
    coverage = _gx_coverage(sample_copy / ".dagster", "contributions")  # --full-validation: GX judged every row too
    assert coverage["gx_mode"] == "full" and coverage["rows_evaluated_by_gx"] == coverage["rows_checked_by_sql"] > 20000
    planted = json.loads((sample_copy / "raw" / "manifest.json").read_text())["planted"]
    found = dict(
        duckdb.connect()
        .execute(
            f"SELECT kind, count(*) FROM "
            f"read_parquet('{sample_copy}/published/reconciliation_discrepancies/*.parquet') "
            "GROUP BY kind"
        )
        .fetchall()
    )
    expected = {
        **planted["register_discrepancies"],
        "employee_share_unpaid": planted["employee_share_unpaid"],
        "overpayment": planted["overpayments"],
    }
    assert found == {k: v for k, v in expected.items() if v}

    # Collection and risk (SPEC section 6): the generator computed each unit's status and flags at
    # its reference months from its own world (pipelines/synthetic/collection.sql); the run agrees
    # unit count for unit count, and every status and every flag is planted at least once.
    collection = planted["collection"]
    assert found_collection(sample_copy, list(collection)) == collection
    statuses = {s for month in collection.values() for s in month["unit_status"]}
    flags = {f for month in collection.values() for f in month["risk_watch"]}
    assert statuses == {"deferring", "repaying", "repaid", "in_arrears"}
    assert flags == {
        "headcount_drop",
        "regular_payment_missing",
        "deregistered_with_outstanding",
        "employee_share_unpaid",
    }
