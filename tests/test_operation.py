"""Monthly operation: sensors and schedule, idempotent reruns, atomic publication."""

import dagster as dg
import duckdb

import assets.publication.assets as publication
import assets.publication.tables as publication_tables
from assets.resources import warehouse_resource
from pipelines.automation import monthly_ingest_schedule, raw_files_sensor, report_months_after_ingest
from tests.worlds import obligations_world


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
    root = tmp_path
    (root / "warehouse" / "clean" / "contributions").mkdir(parents=True)
    duckdb.connect().execute(
        f"COPY (SELECT '2023-02' AS period UNION ALL SELECT '2022-11') TO "
        f"'{root}/warehouse/clean/contributions/anhui-2022.parquet'"
    )
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition(name="g", node_defs=[]).to_job(name="ingest_job"))
        with dg.build_run_status_sensor_context(
            sensor_name="report_months_after_ingest",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="ingest_job"),
            resources={"warehouse": warehouse_resource(str(root))},
        ) as context:
            request = report_months_after_ingest(context)
            assert instance.get_dynamic_partitions("provinces") == ["anhui-2022", "shanxi-2022"]  # registered too
    # every province (the box from the first to the last) x report months 2022-07..2023-02
    assert request.tags["dagster/asset_partition_range_start"] == "anhui-2022|2022-07"
    assert request.tags["dagster/asset_partition_range_end"] == "shanxi-2022|2023-02"


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


def test_rerun_is_idempotent(tmp_path):
    scenario = obligations_world(tmp_path)
    scenario.run(as_of="2022-12", publish=True)
    first = _published(tmp_path)
    bytes_first = {p: p.read_bytes() for p in (tmp_path / "published").rglob("*.parquet")}
    scenario.run(as_of="2022-12", publish=True)
    assert _published(tmp_path) == first
    assert {p: p.read_bytes() for p in (tmp_path / "published").rglob("*.parquet")} == bytes_first
    assert all(len(rows) > 0 for name, (_, rows) in first.items() if name != "monthly_statistics" or rows)


def test_failed_publication_leaves_the_previous_one(tmp_path, monkeypatch):
    scenario = obligations_world(tmp_path)
    scenario.run(as_of="2022-12", publish=True)
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
