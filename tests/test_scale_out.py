"""Issue 13: the pipeline on Dagster's Celery executor, four provinces as partitions.

A Redis server on 127.0.0.1 (installed by .ci/run) and two `deferral worker` processes run the
sample through `deferral run --executor celery`; every published file must equal, byte for byte,
the in-process run's. The Celery run's contributions are laid out by province folder
(raw/contributions/<province_code>/, the corrections file left shared), the in-process run's flat:
ingest by province gives the same accepted rows either way. The four provinces are the two profiles and the two
example profiles
(assets/policy/profiles/examples), configured by DEFERRAL_PROFILES_DIR alone. Broker and workers
are started here and stopped by process id.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines.local_cluster import free_port, start_broker, start_worker, stop
from tests.trust import copy_sample, manifest_content, run_here

ROOT = Path(__file__).parent.parent
PROFILES = os.pathsep.join(str(ROOT / "assets" / "policy" / "profiles" / d) for d in ("", "examples"))
REDIS = shutil.which("redis-server")


def _run(data_dir: Path, env: dict, *extra: str) -> subprocess.CompletedProcess:
    # as of 2022-09 (report months 2022-07..09): every stage and province, a quarter of the months
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--data-dir", str(data_dir), "--as-of", "2022-09", *extra],
        env={**env, "DAGSTER_HOME": str(data_dir / ".dagster")},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _published(data_dir: Path) -> dict[str, bytes]:
    root = (data_dir / "published").resolve()
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.skipif(REDIS is None, reason="no redis-server on this machine (.ci/run installs Debian's)")
def test_celery_run_publishes_the_same_bytes_as_in_process(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFERRAL_")}
    env.update(
        DEFERRAL_PROFILES_DIR=PROFILES,
        DEFERRAL_CELERY_BROKER=f"redis://127.0.0.1:{port}/0",
        DEFERRAL_GX_SAMPLE_ROWS="1000",
        DEFERRAL_DUCKDB_THREADS="1",  # as the reference run has it (tests/trust.py env_for)
    )
    runs = {name: tmp_path / name for name in ("in_process", "celery")}
    for data_dir in runs.values():
        copy_sample(data_dir)
    contributions = runs["celery"] / "raw" / "contributions"
    for name, code in (
        ("contributions_anhui_2022.csv", "340000"),
        ("contributions_anhui_2023.csv", "340000"),
        ("contributions_shanxi.parquet", "140000"),
    ):
        (contributions / code).mkdir(exist_ok=True)
        (contributions / name).rename(contributions / code / name)
    started = []
    try:
        started.append(start_broker(port))
        for i in (1, 2):
            started.append(
                start_worker(
                    f"test{i}-{port}@%h",
                    {**env, "DAGSTER_HOME": str(tmp_path / "worker_home")},
                    tmp_path / f"worker{i}.log",
                )
            )
        # the reference in this test process, with the same settings (the broker unused in process)
        settings = {k: v for k, v in env.items() if k.startswith("DEFERRAL_")}
        reference = run_here(runs["in_process"], "--as-of", "2022-09", **settings)
        assert reference.returncode == 0, reference.stderr[-3000:]
        celery = _run(runs["celery"], env, "--executor", "celery")
        assert celery.returncode == 0, celery.stderr[-3000:] + (tmp_path / "worker1.log").read_text()[-3000:]
    finally:
        for process in reversed(started):
            stop(process)
    for process in started:
        assert process.poll() is not None  # broker and workers are gone

    # the workers ran the steps: their logs name steps of every stage
    logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in (1, 2))
    for step in (
        "ingest__contributions.province[anhui_2022]",
        "ingest__contributions.province[shanxi_2022]",
        "unit_period_contributions",
        "deferral_decisions",
        "publication",
    ):
        assert f"Executing steps {step} in celery worker" in logs

    # four province partitions, each with its own files; the example provinces have no units here
    policy = runs["celery"] / "warehouse" / "policy" / "deferral_decisions" / "2022-09"
    assert sorted(p.stem for p in policy.glob("*.parquet")) == [
        "anhui-2022",
        "henan-example",
        "hubei-example",
        "shanxi-2022",
    ]
    con = duckdb.connect()
    assert con.execute(f"SELECT count(*) FROM read_parquet('{policy}/henan-example.parquet')").fetchall() == [(0,)]

    # the same rows quarantined (their source_file names the folder they were in), each province's own
    quarantined = [
        con.execute(
            f"SELECT regexp_replace(source_file, '/[0-9]{{6}}/', '/'), source_line, rule, raw_values "
            f"FROM read_parquet('{d}/quarantine/contributions/*.parquet') ORDER BY ALL"
        ).fetchall()
        for d in runs.values()
    ]
    assert quarantined[0] == quarantined[1] and len(quarantined[0]) > 20

    expected, found = _published(runs["in_process"]), _published(runs["celery"])
    assert sorted(found) == sorted(expected)
    differing = [name for name in expected if name != "PUBLICATION.json" and found[name] != expected[name]]
    assert differing == []
    assert manifest_content(expected["PUBLICATION.json"]) == manifest_content(found["PUBLICATION.json"])
    # the province partitions add up to the published table, each unit in exactly one province
    published = con.execute(
        f"SELECT unit_id FROM read_parquet('{runs['celery']}/published/deferral_decisions/*.parquet') ORDER BY unit_id"
    ).fetchall()
    partitions = con.execute(f"SELECT unit_id FROM read_parquet('{policy}/*.parquet') ORDER BY unit_id").fetchall()
    assert partitions == published and len(published) > 150
