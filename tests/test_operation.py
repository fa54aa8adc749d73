"""Monthly operation: sensors and schedule, idempotent reruns, atomic publication."""

import json
import shutil

import dagster as dg
import duckdb

import assets.publication.assets as publication
import assets.publication.tables as publication_tables
from assets.contracts import RAW_TABLES
from assets.ingest.engine import ingest_table
from assets.month_digests import MONTH_INPUTS_TAG
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment
from pipelines.automation import (
    month_inputs_after_run,
    monthly_ingest_schedule,
    raw_files_sensor,
    report_months_after_ingest,
)
from pipelines.jobs import IN_PROCESS
from tests.conftest import write_table
from tests.scenario import Scenario, person
from tests.trust import env_for


def test_raw_files_sensor_fires_on_new_files_only(sample_copy):
    resources = {"warehouse": warehouse_resource(str(sample_copy))}

    def evaluate(cursor=None):
        with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
            return raw_files_sensor(context)

    first = evaluate()
    assert isinstance(first, dg.RunRequest)
    assert isinstance(evaluate(first.run_key), dg.SkipReason)
    (sample_copy / "raw" / "elections" / "late.csv").write_text("unit_id,election,filed_on\n", encoding="utf-8")
    landed = evaluate(first.run_key)
    assert isinstance(landed, dg.RunRequest) and landed.run_key != first.run_key


def test_report_months_follow_a_successful_ingest(tmp_path):
    # a unit with contributions for 2022-11 and 2023-02 ingested, every other table empty
    world = Scenario(tmp_path)
    world.unit("U1", 1)
    for period in ("2023-02", "2022-11"):
        world.contribution("U1", person(1), period, "350.00")
    for table in RAW_TABLES:
        write_table(tmp_path, table, world.tables.get(table, []))
    warehouse = warehouse_resource(str(tmp_path), settings=settings_from_environment(gx_data_docs=0))
    with warehouse.connect() as con:
        for table in ["units", *(t for t in RAW_TABLES if t != "units")]:
            ingest_table(con, warehouse, RAW_TABLES[table])
    with dg.instance_for_test() as instance:
        request = _after_success(report_months_after_ingest, "ingest_job", instance, {"warehouse": warehouse})
        assert instance.get_dynamic_partitions("provinces") == ["anhui-2022", "shanxi-2022"]  # registered too
    # every province (the box from the first to the last) x report months 2022-07..2023-02: none computed yet
    assert request.tags["dagster/asset_partition_range_start"] == "anhui-2022|2022-07"
    assert request.tags["dagster/asset_partition_range_end"] == "shanxi-2022|2023-02"


def _after_success(sensor, job_name: str, instance, resources, tags=None):
    """What the daemon does when a run of ``job_name`` succeeds: ``sensor`` evaluated on it."""
    finished = instance.create_run_for_job(
        dg.GraphDefinition(name="g", node_defs=[]).to_job(name=job_name), tags=tags or {}
    )
    with dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=finished,
        dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name=job_name),
        resources=resources,
    ) as context:
        return sensor(context)


def test_the_sensor_starts_report_months_at_the_first_month_whose_inputs_changed(
    keyed_run, tmp_path, changed_environment
):
    """The sensor path plans as `deferral run` does: nothing changed since the sample run -> nothing to
    run; a repayment paid 2023-02-10 arriving later -> from 2023-02; and what a successful run was
    planned from is recorded for the next."""
    data, _ = keyed_run
    target = tmp_path / "sensed"
    shutil.copytree(data, target, symlinks=True)  # with its Dagster instance, which recorded every month
    for k, v in env_for(target, DEFERRAL_PII_KEY="k1-test-key").items():
        changed_environment.setenv(k, v)
    from pipelines.definitions import build_defs, ingest_job_def

    resources = build_defs().resources
    start, end = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
    with dg.DagsterInstance.get() as instance:
        # the sample run's publication is as of 2023-07, made from what is there now: nothing to run
        unchanged = _after_success(report_months_after_ingest, "ingest_job", instance, resources)
        assert isinstance(unchanged, dg.SkipReason) and "nothing changed" in unchanged.skip_message

        (uscc,) = duckdb.execute(
            f"SELECT uscc FROM read_parquet('{target}/published/repayment_schedule/*.parquet') "
            "WHERE region_code LIKE '34%' AND outstanding_amount > 0 ORDER BY obligation_id LIMIT 1"
        ).fetchall()[0]
        (target / "raw" / "tax_payments" / "tax_payments_late_2023-02.csv").write_text(
            "payment_id,uscc,period,component,amount,paid_on,payment_kind\n"
            f"LATE000001,{uscc},2022-09,employer_medical,10.00,2023-02-10,repayment\n",
            encoding="utf-8",
        )
        ingest = dg.execute_job(dg.reconstructable(ingest_job_def), instance=instance, run_config=IN_PROCESS)
        assert ingest.success
        late = _after_success(report_months_after_ingest, "ingest_job", instance, resources)
        assert (late.tags[start], late.tags[end]) == ("anhui-2022|2023-02", "shanxi-2022|2023-07")

        planned = target / "warehouse" / "monthly_inputs.planned" / f"{late.tags[MONTH_INPUTS_TAG]}.json"
        inputs = json.loads(planned.read_text(encoding="utf-8"))
        recorded = target / "warehouse" / "monthly_inputs.json"
        assert json.loads(recorded.read_text(encoding="utf-8")) != inputs  # the sample run's, before the payment
        _after_success(month_inputs_after_run, "monthly_job", instance, resources, late.tags)
        assert json.loads(recorded.read_text(encoding="utf-8")) == inputs and not planned.exists()
        # recorded as computed (as if that run had run): only the latest month is planned, its
        # publication being the sample run's, made from other inputs
        again = _after_success(report_months_after_ingest, "ingest_job", instance, resources)
        assert (again.tags[start], again.tags[end]) == ("anhui-2022|2023-07", "shanxi-2022|2023-07")


def test_schedule_is_monthly():
    assert monthly_ingest_schedule.cron_schedule == "0 6 5 * *"
    assert monthly_ingest_schedule.job_name == "ingest_job"


def _published(root):
    con = duckdb.connect()
    out = {}
    for folder in sorted(p for p in (root / "published").iterdir() if p.name in publication.PUBLISHED_COLUMNS):
        files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.parquet"))
        rows = con.execute(
            f"SELECT * FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true) ORDER BY ALL"
        ).fetchall()
        out[folder.name] = (files, rows)
    return out


def test_rerun_is_idempotent(obligations_copy):
    scenario, root = obligations_copy, obligations_copy.root  # run and published as of 2022-12
    first = _published(root)
    bytes_first = {p: p.read_bytes() for p in (root / "published").rglob("*.parquet")}
    scenario.run(as_of="2022-12", publish=True)
    assert _published(root) == first
    assert {p: p.read_bytes() for p in (root / "published").rglob("*.parquet")} == bytes_first
    assert all(len(rows) > 0 for name, (_, rows) in first.items() if name != "monthly_statistics" or rows)


def test_failed_publication_leaves_the_previous_one(obligations_copy, monkeypatch):
    tmp_path = obligations_copy.root  # run and published as of 2022-12
    before = _published(tmp_path)

    def broken(con, query, target):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"PAR1 half a file")
        raise OSError("disk full while publishing")

    monkeypatch.setattr(publication_tables, "write_parquet", broken)
    resource = warehouse_resource(str(tmp_path))
    result = dg.materialize(publication.published_assets, resources={"warehouse": resource}, raise_on_error=False)
    assert not result.success
    assert _published(tmp_path) == before  # still readable, still the previous content
    assert [p.name for p in (tmp_path / "published").iterdir() if p.name.startswith(".")] == []
    visible = [
        p for p in (tmp_path / "published").rglob("*.parquet") if not any(part.startswith(".") for part in p.parts)
    ]
    assert all(p.read_bytes()[:4] == b"PAR1" and b"half a file" not in p.read_bytes() for p in visible)
