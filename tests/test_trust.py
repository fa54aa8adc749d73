"""Issue 8, trust: each numbered case of the issue, tried the way an operator or an attacker would."""

import json
import shutil
import subprocess

import dagster as dg
import pytest

from pipelines.jobs import IN_PROCESS

from tests.trust import (BIN, ROOT, copy_sample, env_for, forget_cached_definitions, hmac16, parquet_values,
                         raw_person_ids, run)


@pytest.fixture
def changed_environment(monkeypatch):
    """monkeypatch for the environment; Dagster's cached definitions dropped before (an earlier test's,
    built under another environment) and after (this test's)."""
    forget_cached_definitions()
    yield monkeypatch
    forget_cached_definitions()


@pytest.fixture(scope="module")
def keyed_run(tmp_path_factory):
    """The sample run once through `deferral run` with a configured key."""
    data = copy_sample(tmp_path_factory.mktemp("keyed"))
    result = run(data, DEFERRAL_PII_KEY="k1-test-key")
    assert result.returncode == 0, result.stdout + result.stderr
    return data, result


def person_keys(path_glob: str) -> set[str]:
    return {k for k in parquet_values(path_glob, "person_key") if k}


# --- case 1: the configured key is used on every launch path -------------------------------------

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
    proc = subprocess.run([str(BIN / "dagster"), "asset", "materialize", "-m", "pipelines.definitions",
                           "--select", "repayment_schedule", "--partition", "2023-07"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = raw_person_ids(data, valid_only=True)
    first = person_keys(f"{data}/warehouse/policy/repayment_schedule/2023-07.parquet")
    second = person_keys(f"{other}/warehouse/policy/repayment_schedule/2023-07.parquet")
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
                sensor_name="report_months_after_ingest", dagster_instance=instance, dagster_run=ingest,
                dagster_event=dg.DagsterEvent(event_type_value="PIPELINE_SUCCESS", job_name="ingest_job"),
                resources=defs.resources) as context:
            request = report_months_after_ingest(context)
        # the request's own config; only the executor is chosen (in-process: faster here, resources untouched)
        result = dg.execute_job(dg.reconstructable(monthly_job_def), instance=instance,
                                run_config={**(request.run_config or {}), **IN_PROCESS}, tags=request.tags)
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
        result = dg.execute_job(dg.reconstructable(ingest_job_def), instance=instance,
                                run_config={**(request.run_config or {}), **IN_PROCESS}, tags=request.tags)
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey(["ingest", "employee_events"]))
        preview = event.asset_materialization.metadata["preview"].value
    ids = raw_person_ids(data, valid_only=True)
    assert any(hmac16("k4-schedule-key", i) in preview for i in ids)
    assert not any(i in preview for i in raw_person_ids(data))


def test_case_1_profiles_folder_is_honoured_by_every_asset_and_the_development_key_is_announced(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "pipelines" / "profiles", profiles)
    shanxi = profiles / "shanxi-2022.yaml"
    shanxi.write_text(shanxi.read_text(encoding="utf-8").replace('value: "2022-07"', 'value: "2022-09"'), encoding="utf-8")
    data = copy_sample(tmp_path / "data")
    result = run(data, DEFERRAL_PROFILES_DIR=str(profiles))  # and no DEFERRAL_PII_KEY
    assert result.returncode == 0, result.stdout + result.stderr
    import duckdb

    # without a key: the development key, announced once per run, named in the summary and recorded
    assert (result.stdout + result.stderr).count("DEFERRAL_PII_KEY is not set") == 2  # ingest_job, monthly_job
    assert "person_key: DEVELOPMENT key" in result.stdout
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["published", "repayment_schedule"]))
        assert event.asset_materialization.metadata["pii_key"].value == "development"

    con = duckdb.connect()
    starts = con.execute(f"SELECT DISTINCT window_start FROM read_parquet('{data}/published/deferral_decisions/*.parquet') "
                         "WHERE policy_id = 'shanxi-2022' AND eligible").fetchall()
    assert starts and {s for (s,) in starts} <= {"2022-09", "2022-10"}
    months = con.execute(f"SELECT min(report_month) FROM read_parquet('{data}/published/monthly_statistics/**/*.parquet', "
                         "hive_partitioning = true) WHERE region_code = '140000'").fetchall()
    assert months == [("2022-09",)]
    assert con.execute(f"SELECT DISTINCT first_period FROM read_parquet('{data}/warehouse/policy/policy_regions.parquet') "
                       "WHERE policy_id = 'shanxi-2022'").fetchall() == [("2022-09",)]


# --- case 2: no raw person id reaches Dagster's storage, logs or auditor pages --------------------

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


# --- case 3: one writing run per data dir ----------------------------------------------------------

def test_case_3_a_second_run_refuses_while_the_data_dir_is_written(tmp_path):
    data = copy_sample(tmp_path)
    holder = subprocess.Popen(["sleep", "120"])
    try:
        (data / ".deferral.lock").write_text(json.dumps(
            {"owner": "run-of-someone-else", "pid": holder.pid, "host": __import__("socket").gethostname(),
             "what": "Dagster run", "since": "2026-01-01T00:00:00+00:00"}))
        result = run(data, "--as-of", "2022-12")
        assert result.returncode == 2
        assert "is being written by Dagster run run-of-someone-else" in result.stderr
        assert f"pid {holder.pid}" in result.stderr
        assert not (data / "warehouse").exists() and not (data / "published").exists()
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale and the next run takes it over
    result = run(data, "--as-of", "2022-12")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stale" in result.stderr
    assert not (data / ".deferral.lock").exists()  # released at the end


def test_case_3_a_dagster_run_fails_cleanly_on_a_busy_data_dir(tmp_path):
    from assets.lock import acquire, release
    from pipelines.resources import warehouse_resource
    from assets.ingest.assets import ingest_assets

    data = copy_sample(tmp_path)
    acquire(data, "cli-other", pid=__import__("os").getpid(), what="`deferral run`")
    try:
        with pytest.raises(dg.DagsterError) as failed:  # the resource refuses before any step runs
            dg.materialize(ingest_assets[:1], resources={"warehouse": warehouse_resource(str(data))})
        assert "is being written by `deferral run` cli-other" in str(failed.value.__cause__ or failed.value)
        assert not (data / "warehouse").exists()
    finally:
        release(data, "cli-other")


# --- case 4: a header that is not the contract's stops the table with its name ----------------------

def test_case_4_misspelled_or_repeated_header_is_an_error_naming_file_and_column(tmp_path):
    data = copy_sample(tmp_path)
    units = data / "raw" / "units" / "units_a.csv"
    units.write_text(units.read_text(encoding="utf-8-sig").replace("deregistered_on", "deregisterd_on", 1), encoding="utf-8")
    result = run(data)
    assert result.returncode == 1
    assert "units_a.csv: column 'deregisterd_on' is not in the contract" in result.stdout
    assert "Stack Trace" not in result.stdout + result.stderr and "Traceback" not in result.stderr
    assert not (data / "published").exists()

    from assets.ingest.sources import BadInputFile, check_header

    with pytest.raises(BadInputFile, match="unit_id appears more than once"):
        check_header(units, ["unit_id", "uscc", "unit_id"], ("unit_id", "uscc"))


# --- case 5: a field-count reject belongs to its own file only -------------------------------------

def test_case_5_field_count_reject_is_recorded_once_with_its_line(tmp_path):
    from assets.ingest.assets import ingest_assets
    from pipelines.resources import warehouse_resource
    import duckdb

    data = copy_sample(tmp_path)
    elections = data / "raw" / "elections" / "elections.csv"
    lines_before = len(elections.read_text(encoding="utf-8").splitlines())
    with open(elections, "a", encoding="utf-8") as fh:
        fh.write("U0000099,opt_out,2022-07-20,EXTRA_FIELD\n")
    records = lines_before  # header + existing records - header + the new one
    records += len((data / "raw" / "elections" / "zz_corrections.csv").read_text(encoding="utf-8").splitlines()) - 1
    units, elect = next(a for a in ingest_assets if a.key.path[-1] == "units"), next(
        a for a in ingest_assets if a.key.path[-1] == "elections")
    from assets.ingest.assets import accounting_checks

    check = next(c for c in accounting_checks if "elections" in str(c.check_keys))
    result = dg.materialize([units, elect, check], resources={"warehouse": warehouse_resource(str(data))})
    meta = result.asset_materializations_for_node("ingest__elections")[0].metadata
    assert meta["rows_read"].value == records
    rejects = duckdb.connect().execute(
        f"SELECT source_file, source_line FROM read_parquet('{data}/quarantine/elections/*.parquet') "
        "WHERE rule = 'field_count:record'").fetchall()
    assert rejects == [("raw/elections/elections.csv", lines_before + 1)]
    evaluation = result.get_asset_check_evaluations()[0]
    assert evaluation.passed and evaluation.metadata["rows_read"].value == records


def test_case_5_accounting_counts_records_independently_of_the_reader(tmp_path):
    from assets.ingest.sources import count_records

    plain = tmp_path / "plain.csv"
    plain.write_bytes(b"a,b\n1,2\n3,4")  # no trailing newline
    quoted = tmp_path / "quoted.csv"
    quoted.write_bytes(b'a,b\n"x\ny",2\n\n3,4\n')  # a quoted newline and a blank line
    assert count_records(plain) == 2
    assert count_records(quoted) == 2


# --- cases 6 and 7: publication is one unit, readers never see a mix -------------------------------

def test_case_6_publication_is_one_unit_and_a_killed_one_leaves_nothing_visible(tmp_path):
    from tests.test_obligations import build
    import assets.publication as publication

    build(tmp_path).run(as_of="2022-12", publish=True)
    published = tmp_path / "published"
    assert published.is_symlink()
    first = published.resolve()
    manifest = json.loads((published / "PUBLICATION.json").read_text())
    assert manifest["as_of_month"] == "2022-12" and set(manifest["rows"]) == set(publication.PUBLISHED_COLUMNS)
    assert (published / "report" / "report_2022-12.xlsx").exists()
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
    build(tmp_path).run(as_of="2022-12", publish=True)
    assert not leftover.exists() and not (tmp_path / ".published.99999.tmp").is_symlink()
    assert published.resolve() != first and first.exists()  # the earlier version is kept for the auditors
    assert sorted(p.name for p in first.rglob("*.parquet")) == sorted(p.name for p in published.resolve().rglob("*.parquet"))


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
    proc = subprocess.Popen([str(bin_dir / "deferral"), "run", "--data-dir", str(target), "--as-of", "2023-01"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if any((target / "publications").glob(".staging-*")):
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    published = target / "published"
    manifest = json.loads((published / "PUBLICATION.json").read_text())
    assert manifest["as_of_month"] in ("2023-07", "2023-01")  # the whole previous, or the whole new one
    if manifest["as_of_month"] == "2023-07":
        assert published.resolve() == before.resolve() or published.resolve().name.startswith("2023-07")
    again = run(target, "--as-of", "2023-01", DEFERRAL_PII_KEY="k1-test-key")
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((published / "PUBLICATION.json").read_text())["as_of_month"] == "2023-01"
    assert not list((target / "publications").glob(".staging-*"))
    assert before.exists()  # the earlier publication is kept


def test_case_7_readers_during_publication_see_whole_publications_only(tmp_path):
    """A reader loop while publications alternate between two as-of months: every read is whole."""
    import threading

    import duckdb
    from tests.test_obligations import build

    scenario = build(tmp_path)
    scenario.run(as_of="2022-12", publish=True, months=["2022-08", "2022-09", "2022-10", "2022-11", "2022-12"])
    con = duckdb.connect()
    stats = f"{tmp_path}/published/monthly_statistics/**/*.parquet"
    whole = {con.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0]}
    from pipelines.resources import warehouse_resource
    import assets.publication as publication

    resource = warehouse_resource(str(tmp_path), as_of="2022-10")
    smaller = dg.materialize(publication.published_assets, resources={"warehouse": resource})
    assert smaller.success
    whole.add(con.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0])
    assert len(whole) == 2
    seen, errors, stop = [], [], threading.Event()

    def reader():
        c = duckdb.connect()
        while not stop.is_set():
            try:
                seen.append(c.execute(f"SELECT count(*) FROM read_parquet('{stats}')").fetchall()[0][0])
            except duckdb.IOException as error:  # listed the old files just before a switch: a clear error
                errors.append(str(error))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(6):
            month = "2022-12" if i % 2 == 0 else "2022-10"
            assert dg.materialize(publication.published_assets,
                                  resources={"warehouse": warehouse_resource(str(tmp_path), as_of=month)}).success
    finally:
        stop.set()
        thread.join()
    assert seen and set(seen) <= whole, (set(seen), whole)
    assert all("No files found" in e or "No such file" in e or "Cannot open" in e for e in errors)


# --- case 8: a Latin-1 file is refused, never published garbled ------------------------------------

def test_case_8_latin1_file_that_decodes_as_gb18030_is_refused(tmp_path):
    from assets.ingest.sources import UndecodableFileError, detect_encoding

    latin = tmp_path / "latin.csv"
    latin.write_bytes("unit_id,unit_name\nU1,Müller Bäckerei GmbH\nU2,Jörg Schäfer\n".encode("cp1252"))
    assert latin.read_bytes().decode("gb18030").count("\n") == 3  # the trap: the whole file decodes as GB18030
    with pytest.raises(UndecodableFileError, match="latin.csv.*Latin-1/cp1252"):
        detect_encoding(latin)
    chinese = tmp_path / "gb.csv"
    chinese.write_bytes("unit_id,unit_name\nU1,合肥市包河区张记餐饮店\nU2,运城市盐湖区镕堃商贸有限公司\n".encode("gb18030"))
    assert detect_encoding(chinese) == "gb18030"  # a rare character (镕, 堃) among common ones is fine


# --- case 9: missing, empty or broken inputs get one line naming them ------------------------------

@pytest.mark.parametrize("damage, expected", [
    ("no_units", "raw/units is missing"),
    ("no_contributions", "raw/contributions is missing"),
    ("empty_raw", "raw/units is missing"),
    ("zero_byte_csv", "units_a.csv: the file is empty (0 bytes)"),
    ("truncated_parquet", "contributions_shanxi.parquet: not a readable Parquet file"),
])
def test_case_9_missing_empty_or_broken_input_names_the_file(tmp_path, damage, expected):
    data = copy_sample(tmp_path)
    raw = data / "raw"
    if damage == "no_units":
        shutil.rmtree(raw / "units")
    elif damage == "no_contributions":
        shutil.rmtree(raw / "contributions")
    elif damage == "empty_raw":
        for folder in raw.iterdir():
            shutil.rmtree(folder) if folder.is_dir() else folder.unlink()
    elif damage == "zero_byte_csv":
        (raw / "units" / "units_a.csv").write_bytes(b"")
    else:
        path = raw / "contributions" / "contributions_shanxi.parquet"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = run(data)
    assert result.returncode == 1
    assert expected in result.stdout, result.stdout
    assert "Traceback" not in result.stderr and "Stack Trace" not in result.stdout + result.stderr
    assert "CheckError" not in result.stdout + result.stderr
    assert "table" in result.stdout and "read" in result.stdout  # the summary still prints what was read


# --- case 10: the summary prints an error's first meaningful line ----------------------------------

def test_case_10_summary_prints_the_first_meaningful_line_of_an_error():
    from pipelines.summary import first_meaningful_line

    message = ('Binder Error: Referenced column "x" not found in FROM clause!\nCandidate bindings: "y"\n\n'
               'LINE 1: SELECT x FROM t\n               ^^^^^\n')
    assert first_meaningful_line(message) == 'Binder Error: Referenced column "x" not found in FROM clause!'
    assert first_meaningful_line("dagster._core.definitions.events.Failure: raw/units is missing\n") == \
        "raw/units is missing"


# --- case 11: --as-of is bounded ---------------------------------------------------------------------

def test_case_11_as_of_outside_the_data_is_refused_naming_the_range(tmp_path):
    data = copy_sample(tmp_path)
    early = run(data, "--as-of", "2021-01")
    assert early.returncode == 2 and "before every policy's first period" in early.stderr and "2022-07" in early.stderr
    assert not (data / "warehouse").exists()  # refused before any work
    late = run(data, "--as-of", "2030-12")
    assert late.returncode == 1 and "2022-07 through 2023-07" in late.stderr
    assert not (data / "published").exists() and not (data / "warehouse" / "policy").exists()


# --- case 12: generate never deletes an existing raw/ silently -------------------------------------

def test_case_12_generate_refuses_an_existing_raw_without_force(tmp_path):
    from tests.trust import deferral

    data = copy_sample(tmp_path)
    before = sorted(p.name for p in (data / "raw").rglob("*"))
    refused = deferral(data, "generate", "--data-dir", str(data))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert sorted(p.name for p in (data / "raw").rglob("*")) == before
    forced = deferral(data, "generate", "--data-dir", str(data), "--force")
    assert forced.returncode == 0, forced.stderr


# --- low: NUL bytes, long fields, ignored files, killed runs, quotes in paths, XLSX bytes -----------

def test_low_nul_byte_and_long_field_are_quarantined_under_their_own_rules(tmp_path):
    from assets.ingest.assets import ingest_assets
    from pipelines.resources import warehouse_resource
    import duckdb

    data = copy_sample(tmp_path)
    (data / "raw" / "elections" / "notes.txt").write_text("not data", encoding="utf-8")
    (data / "raw" / "elections" / "export.xlsx").write_bytes(b"PK")
    with open(data / "raw" / "units" / "units_a.csv", "a", encoding="utf-8") as fh:
        fh.write("U0009990,91340100123456788L,Bad\x00Name,340100,enterprise,,,\n")
        fh.write("U0009991,91340100123456788L," + "长" * 2_000_000 + ",340100,enterprise,,,\n")
    units, elect = (next(a for a in ingest_assets if a.key.path[-1] == t) for t in ("units", "elections"))
    result = dg.materialize([units, elect], resources={"warehouse": warehouse_resource(str(data))})
    rules = dict(duckdb.connect().execute(
        f"SELECT json_extract_string(raw_values, '$.unit_id'), rule FROM read_parquet('{data}/quarantine/units/*.parquet') "
        "WHERE json_extract_string(raw_values, '$.unit_id') IN ('U0009990', 'U0009991')").fetchall())
    assert rules["U0009990"].startswith("control_character:unit_name")
    assert rules["U0009991"].startswith("too_long:unit_name")
    long_raw = duckdb.connect().execute(
        f"SELECT length(json_extract_string(raw_values, '$.unit_name')) FROM read_parquet('{data}/quarantine/units/*.parquet') "
        "WHERE json_extract_string(raw_values, '$.unit_id') = 'U0009991'").fetchall()
    assert long_raw == [(2_000_000,)]  # kept whole
    meta = result.asset_materializations_for_node("ingest__elections")[0].metadata
    assert meta["ignored_files"].value == ["raw/elections/export.xlsx", "raw/elections/notes.txt"]


def test_low_quote_in_path_killed_runs_marked_and_xlsx_rerun_identical(tmp_path):
    data = copy_sample(tmp_path / "bureau's data")
    with dg.DagsterInstance.from_config(str((data / ".dagster").resolve())) if (data / ".dagster").exists() else \
            _instance(data) as instance:
        killed = instance.create_run_for_job(dg.GraphDefinition(name="g", node_defs=[]).to_job(name="monthly_job"),
                                             tags={"deferral/data_dir": str(data.resolve())})
        instance.handle_run_event(killed.run_id, dg.DagsterEvent(event_type_value="PIPELINE_START", job_name="monthly_job"))
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED
    first = run(data, "--as-of", "2022-10")
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"run {killed.run_id} (monthly_job) had been left STARTED" in first.stdout
    with dg.DagsterInstance.from_config(str(data / ".dagster")) as instance:
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
    workbook = data / "published" / "report" / "report_2022-10.xlsx"
    before = workbook.read_bytes()
    second = run(data, "--as-of", "2022-10")
    assert second.returncode == 0
    assert workbook.read_bytes() == before


def _instance(data):
    home = data / ".dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n", encoding="utf-8")
    return dg.DagsterInstance.from_config(str(home))
