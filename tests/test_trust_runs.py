"""Issue 8, trust: one writing run per data dir (3), publication as one unit (6, 7), bounded --as-of (11),
generate never deletes raw/ silently (12), killed runs marked, quotes in paths, identical XLSX reruns."""

import json
import shutil
import subprocess

import dagster as dg
import pytest

from tests.trust import ROOT, copy_sample, env_for, run_here


def test_case_3_a_second_run_refuses_while_the_data_dir_is_written(tmp_path):
    data = copy_sample(tmp_path)
    holder = subprocess.Popen(["sleep", "120"])
    try:
        (data / ".deferral.lock").write_text(
            json.dumps(
                {
                    "owner": "run-of-someone-else",
                    "pid": holder.pid,
                    "host": __import__("socket").gethostname(),
                    "what": "Dagster run",
                    "since": "2026-01-01T00:00:00+00:00",
                }
            )
        )
        result = run_here(data, "--as-of", "2022-12")
        assert result.returncode == 2
        assert "is being written by Dagster run run-of-someone-else" in result.stderr
        assert f"pid {holder.pid}" in result.stderr
        assert not (data / "warehouse").exists() and not (data / "published").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale and the next run takes it over (one report month suffices)
    result = run_here(data, "--as-of", "2022-07")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stale" in result.stderr
    assert not (data / ".deferral.lock").exists()  # released at the end


def test_case_3_a_dagster_run_fails_cleanly_on_a_busy_data_dir(tmp_path):
    from assets.ingest.assets import ingest_assets
    from assets.lock import acquire, release
    from assets.resources import warehouse_resource

    data = copy_sample(tmp_path)
    acquire(data, "cli-other", pid=__import__("os").getpid(), what="`deferral run`")
    try:
        with pytest.raises(dg.DagsterError) as failed:  # the resource refuses before any step runs
            dg.materialize(ingest_assets[:1], resources={"warehouse": warehouse_resource(str(data))})
        assert "is being written by `deferral run` cli-other" in str(failed.value.__cause__ or failed.value)
        assert not (data / "warehouse").exists()
    finally:
        release(data, "cli-other")


def test_case_6_publication_is_one_unit_and_a_killed_one_leaves_nothing_visible(obligations_copy):
    import assets.publication.assets as publication

    tmp_path = obligations_copy.root  # run and published as of 2022-12
    published = tmp_path / "published"
    assert published.is_symlink()
    first = published.resolve()
    manifest = json.loads((published / "PUBLICATION.json").read_text())
    assert manifest["as_of_month"] == "2022-12" and set(manifest["rows"]) == set(publication.PUBLISHED_COLUMNS)
    assert list((published / "report").glob("*/2022-12/report_*_2022-12.xlsx"))
    # a publication killed half-way: a staging folder and a temp pointer are left behind
    leftover = tmp_path / "publications" / ".staging-2022-12_killed"
    (leftover / "deferral_ledger").mkdir(parents=True)
    (leftover / "deferral_ledger" / "part.tmp").write_bytes(b"PAR1 half")
    import os

    os.symlink("publications/nowhere", tmp_path / ".published.99999.tmp")
    assert published.resolve() == first  # readers still see the whole previous publication
    import duckdb

    glob = f"{tmp_path}/published/**/*.parquet"
    assert duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{glob}', union_by_name = true)").fetchall()
    obligations_copy.run(as_of="2022-12", publish=True)
    assert not leftover.exists() and not (tmp_path / ".published.99999.tmp").is_symlink()
    assert published.resolve() != first and first.exists()  # the earlier version is kept for the auditors
    assert sorted(p.name for p in first.rglob("*.parquet")) == sorted(
        p.name for p in published.resolve().rglob("*.parquet")
    )


def test_case_6_kill_9_during_a_run_leaves_the_previous_publication_and_the_next_run_recovers(keyed_run, tmp_path):
    """A real `kill -9` of `deferral run` as soon as it starts publishing (or whenever it gets furthest)."""
    import os
    import signal
    import time

    from tests.trust import BIN as bin_dir

    data, _ = keyed_run
    target = tmp_path / "killed"
    shutil.copytree(data, target, symlinks=True)
    before = (target / "published").resolve()
    env = env_for(target, DEFERRAL_PII_KEY="k1-test-key")
    proc = subprocess.Popen(
        [str(bin_dir / "deferral"), "run", "--data-dir", str(target), "--as-of", "2022-09"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any((target / "publications").glob(".staging-*")):
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    published = target / "published"
    manifest = json.loads((published / "PUBLICATION.json").read_text())
    assert manifest["as_of_month"] in ("2023-07", "2022-09")  # the whole previous, or the whole new one
    if manifest["as_of_month"] == "2023-07":
        assert published.resolve() == before.resolve() or published.resolve().name.startswith("2023-07")
    again = run_here(target, "--as-of", "2022-09", DEFERRAL_PII_KEY="k1-test-key")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((published / "PUBLICATION.json").read_text())["as_of_month"] == "2022-09"
    assert not list((target / "publications").glob(".staging-*"))
    assert before.exists()  # the earlier publication is kept


def test_case_7_readers_during_publication_see_whole_publications_only(tmp_path):
    """A reader loop while publications alternate between two as-of months: every read is whole."""
    import threading

    import duckdb

    from tests.worlds import obligations_world

    scenario = obligations_world(tmp_path)
    scenario.run(as_of="2022-12", publish=True, months=["2022-08", "2022-09", "2022-10", "2022-11", "2022-12"])
    con = duckdb.connect()
    stats = f"{tmp_path}/published/monthly_statistics/**/*.parquet"
    whole = {con.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0]}
    import assets.publication.assets as publication
    from assets.resources import warehouse_resource

    resource = warehouse_resource(str(tmp_path))
    smaller = dg.materialize(
        publication.published_assets,
        resources={"warehouse": resource},
        run_config={"ops": {"publication": {"config": {"report_month": "2022-10"}}}},
    )
    assert smaller.success
    whole.add(con.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0])
    assert len(whole) == 2
    seen, errors, stop = [], [], threading.Event()

    def reader():
        c = duckdb.connect(config={"threads": 1})  # a core left to the publications
        while not stop.is_set():
            try:
                seen.append(c.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0])
            except duckdb.IOException as error:  # listed the old files just before a switch: a clear error
                errors.append(str(error))
            stop.wait(0.01)  # still a hundred reads or more a publication

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(6):
            month = "2022-12" if i % 2 == 0 else "2022-10"
            assert dg.materialize(
                publication.published_assets,
                resources={"warehouse": warehouse_resource(str(tmp_path))},
                run_config={"ops": {"publication": {"config": {"report_month": month}}}},
            ).success
    finally:
        stop.set()
        thread.join()
    assert seen and set(seen) <= whole, (set(seen), whole)
    assert all("No files found" in e or "No such file" in e or "Cannot open" in e for e in errors)


def test_case_11_as_of_outside_the_data_is_refused_naming_the_range(tmp_path):
    data = copy_sample(tmp_path)
    early = run_here(data, "--as-of", "2021-01")
    assert early.returncode == 2 and "before every policy's first period" in early.stderr and "2022-07" in early.stderr
    assert not (data / "warehouse").exists()  # refused before any work
    late = run_here(data, "--as-of", "2030-12")
    assert late.returncode == 1 and "2022-07 through 2023-07" in late.stderr
    assert not (data / "published").exists() and not (data / "warehouse" / "policy").exists()


def test_case_12_generate_refuses_an_existing_raw_without_force(tmp_path):
    from tests.trust import deferral

    data = copy_sample(tmp_path)
    before = sorted(p.name for p in (data / "raw").rglob("*"))
    refused = deferral(data, "generate", "--data-dir", str(data))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert sorted(p.name for p in (data / "raw").rglob("*")) == before
    forced = deferral(data, "generate", "--data-dir", str(data), "--force")
    assert forced.returncode == 0, forced.stderr


def test_low_quote_in_path_killed_runs_marked_and_xlsx_rerun_identical(tmp_path):
    data = copy_sample(tmp_path / "bureau's data")
    with (
        dg.DagsterInstance.from_config(str((data / ".dagster").resolve()))
        if (data / ".dagster").exists()
        else _instance(data) as instance
    ):
        killed = instance.create_run_for_job(
            dg.GraphDefinition(name="g", node_defs=[]).to_job(name="monthly_job"),
            tags={"deferral/data_dir": str(data.resolve())},
        )
        instance.handle_run_event(
            killed.run_id, dg.DagsterEvent(event_type_value="PIPELINE_START", job_name="monthly_job")
        )
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED
    first = run_here(data, "--as-of", "2022-10")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"run {killed.run_id} (monthly_job) had been left STARTED" in first.stdout
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    reports = sorted((data / "published" / "report").glob("*/*/*"))  # every province's workbooks and charts
    before = [p.read_bytes() for p in reports]
    second = run_here(data, "--as-of", "2022-10", "--full")  # written again, not kept (nothing changed)
    assert second.returncode == 0
    assert reports and [p.read_bytes() for p in sorted((data / "published" / "report").glob("*/*/*"))] == before
    # --full wrote every workbook and recorded what each is made from: the next run keeps what is unchanged
    recorded = json.loads((data / "published" / "PUBLICATION.json").read_text())["report_inputs"]
    workbooks = {f"{p.parent.parent.name}/{p.parent.name}" for p in reports if p.name.startswith("report_")}
    assert workbooks and set(recorded) == workbooks


def _instance(data):
    home = data / ".dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))
