"""Issue 8, trust: settings and the PII key resolve the same on every launch path (case 1), and no raw
person id reaches what a UI user, a bureau or a log reader sees (case 2)."""

import json
import shutil
import subprocess

import dagster as dg

from pipelines.jobs import IN_PROCESS
from tests.trust import BIN, ROOT, copy_sample, env_for, hmac16, parquet_values, raw_person_ids, run_here


def person_keys(path_glob: str) -> set[str]:
    return {k for k in parquet_values(path_glob, "person_key") if k}


def test_case_1_cli_run_uses_the_configured_key(keyed_run):
    data, result = keyed_run
    ids = raw_person_ids(data, valid_only=True)
    keys = person_keys(f"{data}/published/repayment_schedule/*.parquet")
    assert keys, "the sample has person-level obligations"
    assert keys <= {hmac16("k1-test-key", i) for i in ids}
    assert not keys & {hmac16("deferral-development-key-not-for-production", i) for i in ids}
    assert "DEFERRAL_PII_KEY is not set" not in result.stdout + result.stderr
    assert "person_key: configured key" in result.stdout


def test_case_1_dagster_cli_materialize_uses_the_key_and_a_changed_key_changes_every_person_key(keyed_run, tmp_path):
    data, _ = keyed_run
    other = tmp_path / "other"
    shutil.copytree(data, other, symlinks=True)
    env = env_for(other, DEFERRAL_PII_KEY="k2-other-key")
    proc = subprocess.run(
        [
            str(BIN / "dagster"),
            "asset",
            "materialize",
            "-m",
            "pipelines.definitions",
            "--select",
            "repayment_schedule",
            "--partition",
            "anhui-2022|2023-07",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = raw_person_ids(data, valid_only=True)
    first = person_keys(f"{data}/warehouse/policy/repayment_schedule/2023-07/anhui-2022.parquet")
    second = person_keys(f"{other}/warehouse/policy/repayment_schedule/2023-07/anhui-2022.parquet")
    assert second <= {hmac16("k2-other-key", i) for i in ids}
    assert len(second) == len(first) and not first & second


def test_case_1_sensor_launched_run_uses_the_key(keyed_run, tmp_path, changed_environment):
    """What the daemon does for `report_months_after_ingest`: the request's own config, nothing more."""
    data, _ = keyed_run
    target = tmp_path / "sensor"
    shutil.copytree(data, target, symlinks=True)
    for k, v in env_for(target, DEFERRAL_PII_KEY="k3-sensor-key").items():
        changed_environment.setenv(k, v)
    from pipelines.automation import report_months_after_ingest
    from pipelines.definitions import build_defs, monthly_job_def

    defs = build_defs()
    with dg.instance_for_test() as instance:
        ingest = instance.create_run_for_job(dg.GraphDefinition(name="g", node_defs=[]).to_job(name="ingest_job"))
        with dg.build_run_status_sensor_context(
            sensor_name="report_months_after_ingest",
            dagster_instance=instance,
            dagster_run=ingest,
            dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="ingest_job"),
            resources=defs.resources,
        ) as context:
            request = report_months_after_ingest(context)
        # the request's own config; only the executor is chosen (in-process: faster here, resources untouched)
        result = dg.execute_job(
            dg.reconstructable(monthly_job_def),
            instance=instance,
            run_config={**(request.run_config or {}), **IN_PROCESS},
            tags=request.tags,
        )
        assert result.success
    ids = raw_person_ids(data, valid_only=True)
    keys = person_keys(f"{target}/published/repayment_schedule/*.parquet")
    assert keys and keys <= {hmac16("k3-sensor-key", i) for i in ids}


def test_case_1_schedule_launched_run_uses_the_key(keyed_run, tmp_path, changed_environment):
    """What the daemon does for `monthly_ingest_schedule`: the request's own config, nothing more."""
    data, _ = keyed_run
    target = tmp_path / "scheduled"
    shutil.copytree(data / "raw", target / "raw")
    for k, v in env_for(target, DEFERRAL_PII_KEY="k4-schedule-key").items():
        changed_environment.setenv(k, v)
    from pipelines.automation import monthly_ingest_schedule
    from pipelines.definitions import ingest_job_def

    with dg.instance_for_test() as instance:
        with dg.build_schedule_context(instance=instance) as context:
            request = monthly_ingest_schedule.evaluate_tick(context).run_requests[0]
        result = dg.execute_job(
            dg.reconstructable(ingest_job_def),
            instance=instance,
            run_config={**(request.run_config or {}), **IN_PROCESS},
            tags=request.tags,
        )
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey(["ingest", "employee_events"]))
        preview = event.asset_materialization.metadata["preview"].value
    ids = raw_person_ids(data, valid_only=True)
    assert any(hmac16("k4-schedule-key", i) in preview for i in ids)
    assert not any(i in preview for i in raw_person_ids(data))


def test_case_1_profiles_folder_is_honoured_by_every_asset_and_the_development_key_is_announced(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "assets" / "policy" / "profiles", profiles)
    shanxi = profiles / "shanxi-2022.yaml"
    shanxi.write_text(
        shanxi.read_text(encoding="utf-8").replace('value: "2022-07"', 'value: "2022-09"'), encoding="utf-8"
    )
    data = copy_sample(tmp_path / "data")
    # as of 2022-10: Shanxi's first two report months under the changed first period, every asset
    result = run_here(data, "--as-of", "2022-10", DEFERRAL_PROFILES_DIR=str(profiles))  # and no DEFERRAL_PII_KEY
    assert result.returncode == 0, result.stdout + result.stderr
    import duckdb

    # without a key: the development key, announced once per run, named in the summary and recorded
    assert (result.stdout + result.stderr).count("DEFERRAL_PII_KEY is not set") == 2  # ingest_job, monthly_job
    assert "person_key: DEVELOPMENT key" in result.stdout
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["published", "repayment_schedule"]))
        assert event.asset_materialization.metadata["pii_key"].value == "development"

    con = duckdb.connect()
    starts = con.execute(
        f"SELECT DISTINCT window_start FROM read_parquet('{data}/published/deferral_decisions/*.parquet') "
        "WHERE policy_id = 'shanxi-2022' AND eligible"
    ).fetchall()
    assert starts and {s for (s,) in starts} <= {"2022-09", "2022-10"}
    months = con.execute(
        f"SELECT min(report_month) FROM read_parquet('{data}/published/monthly_statistics/**/*.parquet', "
        "hive_partitioning = true) WHERE region_code = '140000'"
    ).fetchall()
    assert months == [("2022-09",)]
    assert con.execute(
        f"SELECT DISTINCT first_period FROM read_parquet('{data}/warehouse/policy/policy_regions.parquet') "
        "WHERE policy_id = 'shanxi-2022'"
    ).fetchall() == [("2022-09",)]


def test_case_2_no_raw_person_id_in_dagster_storage_logs_or_docs(keyed_run):
    data, result = keyed_run
    ids = raw_person_ids(data)
    assert len(ids) > 1000
    places = [data / ".dagster", data / "data_docs", data / "published"]
    blobs = {p: p.read_bytes() for place in places for p in place.rglob("*") if p.is_file()}
    assert any(p.suffix == ".db" for p in blobs), "Dagster's SQLite storage was scanned"
    blobs["cli output"] = (result.stdout + result.stderr).encode()
    leaks = {str(p): i for p, blob in blobs.items() for i in ids if i.encode() in blob}
    assert not leaks, list(leaks.items())[:5]
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["ingest", "contributions"]))
        preview = event.asset_materialization.metadata["preview"].value
    assert "person_id_key" in preview and json.dumps(preview)
