"""Real sources and a real instance: raw tables read from PostgreSQL, Dagster's storage on PostgreSQL.

A PostgreSQL server is started for this module on 127.0.0.1 (tests/postgres.py) and stopped by its pid.
The sample is loaded into it (`deferral load-postgres`) and run through the database path with a Dagster
instance on the same server (deploy/dagster.yaml); a copy of the sample is run through the file path.
"""

import json
import shutil
import subprocess

import adbc_driver_postgresql.dbapi as pg
import duckdb
import pyarrow as pa
import pytest

from assets.contracts import RAW_TABLES
from assets.ingest.engine import ingest_table
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment
from pipelines import local_postgres as postgres
from pipelines.local_cluster import free_port
from tests.conftest import USCC_A, write_table
from tests.trust import ROOT, copy_sample, deferral, graphql, run_here, webserver

pytestmark = pytest.mark.skipif(postgres.binary("initdb") is None, reason="PostgreSQL (initdb) is not installed")
VAR = "DEFERRAL_SOURCE_POSTGRES"
# report months 2022-07..09: every stage and both provinces (the sources are what differs, not the months)
AS_OF = "2022-09"


@pytest.fixture(scope="module")
def server():
    started = postgres.start()
    yield started
    started.stop()


def published(data) -> dict[str, bytes]:
    """Every published file but PUBLICATION.json (its run id, raw files and time differ by nature)."""
    root = (data / "published").resolve()
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} | {
        "PUBLICATION.json": b""
    }


def quarantined(data) -> list[tuple]:
    return duckdb.sql(
        f"SELECT source_file, rule, raw_values FROM read_parquet('{data}/quarantine/*/*.parquet', union_by_name = true)"
    ).fetchall()


@pytest.fixture(scope="module")
def both_paths(server, tmp_path_factory):
    """The sample through the files, and through PostgreSQL with the Dagster instance on PostgreSQL."""
    base = tmp_path_factory.mktemp("pg")
    files = copy_sample(base / "files")
    assert run_here(files, "--as-of", AS_OF).returncode == 0
    database = base / "database"
    loaded = deferral(
        base, "load-postgres", "--data-dir", str(files), "--to", str(database), "--schema", "sample",
        env={**_env(base), VAR: server.uri()},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    home = database / ".dagster"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    result = run_here(database, "--as-of", AS_OF, **{VAR: server.uri(), "DEFERRAL_DAGSTER_PG_URL": dagster_url(server)})
    assert result.returncode == 0, result.stdout + result.stderr
    return files, database, loaded.stdout, result.stdout


def dagster_url(server) -> str:
    """The instance's URL: SQLAlchemy with psycopg2, the driver dagster-postgres depends on."""
    return server.uri().replace("postgresql://", "postgresql+psycopg2://", 1)


def _env(base):
    from tests.trust import env_for

    return env_for(base)


def test_the_sample_through_postgres_publishes_the_same_bytes_and_quarantine(both_paths):
    files, database, loaded, _ = both_paths
    # the two records with a wrong number of fields cannot be table rows: the loader says so
    assert "sample.units: 214 rows (1 records with a wrong field count not loadable)" in loaded
    assert published(database) == published(files)
    from_files = quarantined(files)
    from_db = quarantined(database)
    by_rule = lambda rows: sorted((rule, raw) for _, rule, raw in rows if rule != "field_count:record")  # noqa: E731
    assert by_rule(from_db) == by_rule(from_files)
    assert {source for source, *_ in from_db} <= {f"postgresql:sample.{t}" for t in RAW_TABLES}
    assert not any(rule == "field_count:record" for _, rule, _ in from_db)


def test_the_dagster_instance_was_postgres(both_paths, server):
    *_, stdout = both_paths
    with pg.connect(server.uri()) as conn, conn.cursor() as cur:
        cur.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
        runs = cur.fetchall()
    assert runs == [("ingest_job", "SUCCESS"), ("monthly_job", "SUCCESS")]
    assert "Dagster UI" in stdout


def test_runs_events_and_partitions_are_visible_from_the_webserver(both_paths, server):
    """A second process (dagster-webserver on the same PostgreSQL instance) sees the runs, their events
    and each partition's own materialization."""
    _, database, *_ = both_paths
    env = {"DEFERRAL_DAGSTER_PG_URL": dagster_url(server), "DEFERRAL_DATA_DIR": str(database), VAR: server.uri()}
    with webserver(database / ".dagster", env) as url:
        runs = graphql(url, "{ runsOrError { ... on Runs { results { runId jobName status } } } }")
        found = {(r["jobName"], r["status"]): r["runId"] for r in runs["runsOrError"]["results"]}
        assert set(found) == {("ingest_job", "SUCCESS"), ("monthly_job", "SUCCESS")}
        monthly = found[("monthly_job", "SUCCESS")]
        query = '{ logsForRun(runId: "%s") { ... on EventConnection { events { __typename } } } }' % monthly
        events = graphql(url, query)["logsForRun"]["events"]
        materialized = sum(e["__typename"] == "MaterializationEvent" for e in events)
        assert materialized >= 3 * 2 * 13  # report months x provinces x report-month assets
        data = graphql(
            url,
            """{ assetOrError(assetKey: {path: ["monthly_statistics"]}) { ... on Asset {
            assetMaterializations(partitions: ["anhui-2022|2022-08"]) { partition metadataEntries {
            label ... on IntMetadataEntry { intValue } } } } } }""",
        )
    (event,) = data["assetOrError"]["assetMaterializations"][:1]
    rows = {m["label"]: m.get("intValue") for m in event["metadataEntries"]}["dagster/row_count"]
    path = database / "warehouse" / "policy" / "monthly_statistics" / "2022-08" / "anhui-2022.parquet"
    assert rows == duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]


def test_an_unchanged_source_is_not_read_again_and_a_changed_one_is(both_paths, server):
    _, database, *_ = both_paths
    snapshot = database / "raw" / "elections" / "postgresql" / "sample.elections.parquet"
    folder = database / "warehouse" / "clean" / "elections"

    def clean() -> dict[str, int]:  # the accepted rows' files, a file per input, and when each was written
        return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}

    before = snapshot.stat().st_mtime_ns, clean()
    env = {VAR: server.uri(), "DEFERRAL_DAGSTER_PG_URL": dagster_url(server)}
    again = run_here(database, "--as-of", AS_OF, **env)
    # the server's digest is unchanged: no export, and the ingest reuses what it judged from the same snapshot
    assert again.returncode == 0 and (snapshot.stat().st_mtime_ns, clean()) == before
    with pg.connect(server.uri()) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE sample.elections SET filed_on = '2022-07-21' "
            "WHERE unit_id = (SELECT min(unit_id) FROM sample.elections) AND filed_on IS DISTINCT FROM '2022-07-21'"
        )
        assert cur.rowcount >= 1
        conn.commit()
    changed = run_here(database, "--as-of", AS_OF, **env)
    assert changed.returncode == 0
    assert snapshot.stat().st_mtime_ns != before[0] and clean() != before[1]
    record = json.loads((database / "warehouse" / "sources" / "elections.json").read_text())
    assert record["source"] == "postgresql:sample.elections" and record["rows"] == 30


BAD_ROWS = [
    # payment_id, uscc, period, component, amount, paid_on, payment_kind
    ("P1", USCC_A, "2022-08", "employer_medical", "100.00", "2022-08-15", "regular"),
    ("P2", USCC_A, "2022-08", "employer_medical", "３００.00", "2022-08-15", "regular"),  # full-width digits
    ("P3", None, "2022-08", "employer_medical", "100.00", "2022-08-15", "regular"),  # a required column empty
    ("P4", USCC_A, "2022-09", "employer_medical", "10.00", "2022-09-15", "regular"),  # P4 twice, differing
    ("P4", USCC_A, "2022-09", "employer_medical", "11.00", "2022-09-15", "regular"),
]


def test_bad_values_in_the_database_are_quarantined_like_their_file_twins(server, tmp_path):
    columns = list(RAW_TABLES["tax_payments"].columns)
    with pg.connect(server.uri()) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS bad")
        table = pa.table({c: pa.array([r[i] for r in BAD_ROWS], pa.string()) for i, c in enumerate(columns)})
        cur.adbc_ingest("tax_payments", table, mode="replace", db_schema_name="bad")
        conn.commit()
    twin = tmp_path / "file"
    write_table(twin, "tax_payments", [dict(zip(columns, ("" if v is None else v for v in r))) for r in BAD_ROWS])
    database = tmp_path / "db"
    (database / "raw").mkdir(parents=True)
    (database / "sources.yaml").write_text(
        f"tables:\n  tax_payments: {{connection: {VAR}, table: bad.tax_payments}}\n", encoding="utf-8"
    )
    counts = {}
    for name, data in (("file", twin), ("db", database)):
        warehouse = warehouse_resource(str(data), settings=settings_from_environment(gx_data_docs=0))
        with pytest.MonkeyPatch.context() as env:
            env.setenv(VAR, server.uri())
            with warehouse.connect() as con:
                counts[name] = ingest_table(con, warehouse, RAW_TABLES["tax_payments"])
    # by hand: P2 breaks the money rule, P3 the required uscc, both P4 rows share a key and differ; P1 accepted
    for name, data in (("file", twin), ("db", database)):
        rules = sorted(rule for _, rule, _ in quarantined(data))
        assert rules == [
            "duplicate_key:payment_id",
            "duplicate_key:payment_id",
            "money:amount;fullwidth:amount",  # the money rule, and what the value shows: full-width digits
            "required:uscc",
        ], name
        assert counts[name]["accepted"] == 1
    assert sorted(r[1:] for r in quarantined(twin)) == sorted(r[1:] for r in quarantined(database))
    assert {r[0] for r in quarantined(database)} == {"postgresql:bad.tax_payments"}


@pytest.mark.parametrize("problem", ["wrong password", "unreachable"])
def test_a_source_that_cannot_be_read_is_one_line_and_nothing_is_published(server, tmp_path, problem):
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "sources.yaml").write_text(
        f"tables:\n  units: {{connection: {VAR}, table: sample.units}}\n", encoding="utf-8"
    )
    uri = server.uri(password="wrong") if problem == "wrong password" else server.uri(port=free_port())
    result = run_here(data, **{VAR: uri})
    assert result.returncode == 1
    said = [line for line in (result.stdout + result.stderr).splitlines() if "postgresql:sample.units" in line]
    assert said and all(VAR in line for line in said), result.stdout + result.stderr
    reason = "password authentication failed" if problem == "wrong password" else "Connection refused"
    assert any(reason in line for line in said)
    assert "s3cret-test" not in result.stdout + result.stderr and "wrong@" not in result.stdout + result.stderr
    assert not (data / "published").exists()


def test_ci_installs_postgresql():
    assert "postgresql" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert subprocess.run([postgres.binary("initdb"), "--version"], capture_output=True).returncode == 0
