"""The Dagster UI as an auditor sees it: a real dagster-webserver on loopback, its GraphQL API,
and a headless Chromium rendering the asset graph and the validation report."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from pipelines.cli import app
from tests.trust import copy_sample, webserver
from tests.trust import graphql as ui_graphql

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RAW = {
    "units",
    "sme_classifications",
    "fund_reserves",
    "contributions",
    "tax_payments",
    "tax_deferral_register",
    "commitments",
    "elections",
    "employee_events",
}
# every raw input each published table is derived from (SPEC sections 3 and 4)
LINEAGE = {
    "deferral_decisions": {"units", "fund_reserves", "sme_classifications", "commitments", "elections", "tax_payments"},
    "deferral_ledger": {
        "units",
        "fund_reserves",
        "sme_classifications",
        "commitments",
        "elections",
        "tax_payments",
        "contributions",
    },
    "repayment_schedule": RAW - {"tax_deferral_register"},
    "fund_reserve_status": RAW - {"tax_deferral_register"},
    "deferral_plan": RAW - {"tax_deferral_register", "employee_events"},
    "reconciliation_discrepancies": RAW,
    "monthly_statistics": RAW,
}


LINEAGE_TABLES = (
    "units",
    "contributions",
    "tax_payments",
    "tax_deferral_register",
    "fund_reserves",
    "sme_classifications",
    "commitments",
    "elections",
    "employee_events",
)
UI_KEY = "ui-launchpad-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ui")
    copy_sample(root / "data")
    home = root / "home"
    env_before = dict(os.environ)
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DEFERRAL_GX_DATA_DOCS"] = "0"  # GX's own site is not what these pages show (the validation report is)
    try:
        result = CliRunner().invoke(app, ["run", "--data-dir", str(root / "data")])
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    assert result.exit_code == 0, result.output
    # runs launched from the UI start at once (no daemon in this test), with the deployment's key
    with open(home / "dagster.yaml", "a", encoding="utf-8") as fh:
        fh.write("run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n")
    env = {"DEFERRAL_DATA_DIR": str(root / "data"), "DEFERRAL_PII_KEY": UI_KEY}
    with webserver(home, env) as url:
        yield {"url": url, "data": root / "data", "tmp": root}


def graphql(server, query: str) -> dict:
    return ui_graphql(server["url"], query)


def test_graph_connects_every_published_table_to_its_raw_inputs(server):
    nodes = graphql(server, "{ assetNodes { assetKey { path } groupName kinds description dependencyKeys { path } } }")[
        "assetNodes"
    ]
    deps = {"/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]} for n in nodes}
    groups = {n["groupName"] for n in nodes}
    assert groups == {"ingest", "validation", "policy", "reconciliation", "publication"}
    assert all(n["description"] for n in nodes)

    def upstream(key: str) -> set[str]:
        seen, todo = set(), [key]
        while todo:
            for dep in deps.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    for table, raws in LINEAGE.items():
        reached = {k.split("/", 1)[1] for k in upstream(f"published/{table}") if k.startswith("raw/")}
        assert raws <= reached, (table, raws - reached)
    kinds = {"/".join(n["assetKey"]["path"]): set(n["kinds"]) for n in nodes}
    assert {"duckdb", "parquet"} <= kinds["deferral_ledger"] and "parquet" in kinds["published/deferral_ledger"]


def test_checks_and_metadata_are_visible(server):
    data = graphql(
        server,
        """{ assetNodeOrError(assetKey: {path: ["ingest", "units"]}) { ... on AssetNode {
        assetChecksOrError { ... on AssetChecks { checks { name executionForLatestMaterialization {
        status evaluation { success metadataEntries { label } } } } } } } } }""",
    )
    checks = {c["name"]: c for c in data["assetNodeOrError"]["assetChecksOrError"]["checks"]}
    assert set(checks) == {"gx_verdicts_match_quarantine", "rows_accounted_for"}
    gx = checks["gx_verdicts_match_quarantine"]["executionForLatestMaterialization"]
    assert gx["status"] == "SUCCEEDED" and gx["evaluation"]["success"]
    assert {"expectations", "expectation_results", "data_docs"} <= {
        m["label"] for m in gx["evaluation"]["metadataEntries"]
    }
    data = graphql(
        server,
        """{ assetOrError(assetKey: {path: ["published", "deferral_decisions"]}) { ... on Asset {
        assetMaterializations(limit: 1) { runId metadataEntries { label __typename } } } } }""",
    )
    entries = {m["label"]: m["__typename"] for m in data["assetOrError"]["assetMaterializations"][0]["metadataEntries"]}
    assert entries["dagster/row_count"] == "IntMetadataEntry"
    assert entries["dagster/column_schema"] == "TableSchemaMetadataEntry"
    assert entries["dagster/column_lineage"] == "TableColumnLineageMetadataEntry"
    assert {"as_of_month", "policy_profiles", "preview"} <= set(entries)
    runs = graphql(server, "{ runsOrError { ... on Runs { results { jobName tags { key value } } } } }")
    tags = {r["jobName"]: {t["key"]: t["value"] for t in r["tags"]} for r in runs["runsOrError"]["results"]}
    assert tags["monthly_job"]["deferral/as_of"] == "2023-07"


SAMPLE_MONTHS = [f"2022-{m:02d}" for m in range(7, 13)] + [f"2023-{m:02d}" for m in range(1, 8)]


def test_each_partition_shows_its_own_row_count_and_path(server):
    """Two partitions of two report-month assets: the UI's row count and path are the partition's own
    file's (counted here with DuckDB), not the run's totals."""
    import duckdb

    for asset in ("monthly_statistics", "deferral_ledger"):
        for province, month in (("anhui-2022", "2022-08"), ("shanxi-2022", "2023-07")):
            data = graphql(
                server,
                f"""{{ assetOrError(assetKey: {{path: ["{asset}"]}}) {{ ... on Asset {{
                assetMaterializations(partitions: ["{province}|{month}"]) {{ partition metadataEntries {{
                label ... on IntMetadataEntry {{ intValue }} ... on PathMetadataEntry {{ path }} }} }} }} }} }}""",
            )
            (event,) = data["assetOrError"]["assetMaterializations"][:1]
            entries = {m["label"]: m for m in event["metadataEntries"]}
            path = server["data"] / "warehouse" / "policy" / asset / month / f"{province}.parquet"
            rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchall()[0][0]
            assert event["partition"] == f"{province}|{month}"
            assert entries["dagster/row_count"]["intValue"] == rows, (asset, province, month)
            assert Path(entries["path"]["path"]).resolve() == path.resolve()


def test_partitions_end_at_the_last_month_with_data(server):
    data = graphql(
        server,
        """{ assetNodeOrError(assetKey: {path: ["repayment_schedule"]}) {
        ... on AssetNode { partitionKeys } } }""",
    )
    # every province x report month 2022-07 (Shanxi's first) to the latest period, province first
    assert data["assetNodeOrError"]["partitionKeys"] == [
        f"{p}|{m}" for p in ("anhui-2022", "shanxi-2022") for m in SAMPLE_MONTHS
    ]


def test_cli_runs_are_filed_under_their_jobs(server):
    for job in ("ingest_job", "monthly_job"):
        data = graphql(
            server,
            f"""{{ pipelineOrError(params: {{repositoryLocationName: "deferral",
            repositoryName: "__repository__", pipelineName: "{job}"}}) {{ ... on Pipeline {{ runs {{ runId status
            tags {{ key value }} }} }} }} }}""",
        )
        runs = data["pipelineOrError"]["runs"]
        assert any({"key": "deferral/as_of", "value": "2023-07"} in r["tags"] or job == "ingest_job" for r in runs), job
        assert runs and all(r["status"] == "SUCCESS" for r in runs), (job, runs)


def test_published_assets_have_checks_descriptions_and_exact_previews(server):
    data = graphql(
        server,
        """{ assetNodeOrError(assetKey: {path: ["published", "monthly_statistics"]}) { ... on AssetNode {
        assetChecksOrError { ... on AssetChecks { checks { name blocking executionForLatestMaterialization {
        status evaluation { success } } } } } } } }""",
    )
    checks = {c["name"]: c for c in data["assetNodeOrError"]["assetChecksOrError"]["checks"]}
    assert set(checks) == {"column_contract", "money_is_decimal", "no_raw_person_id", "province_equals_sum_of_regions"}
    for check in checks.values():
        assert check["blocking"] and check["executionForLatestMaterialization"]["evaluation"]["success"]
    data = graphql(
        server,
        """{ assetOrError(assetKey: {path: ["published", "monthly_statistics"]}) { ... on Asset {
        assetMaterializations(limit: 1) { metadataEntries { label
          ... on TableSchemaMetadataEntry { schema { columns { name type description } } }
          ... on MarkdownMetadataEntry { mdStr } } } } } }""",
    )
    entries = {m["label"]: m for m in data["assetOrError"]["assetMaterializations"][0]["metadataEntries"]}
    columns = {c["name"]: c for c in entries["dagster/column_schema"]["schema"]["columns"]}
    assert columns["cumulative_deferred"]["type"] == "DECIMAL(18,2)"
    assert columns["cumulative_deferred"]["description"] == "累计缓缴金额 / deferred to date"
    assert "social_org = 社会组织" in columns["category"]["description"]
    preview = entries["preview"]["mdStr"]
    rows = [line.split(" | ") for line in preview.splitlines()[2:]]
    assert rows and all(r[-1].strip(" |") == "2023-07" for r in rows)  # the run's month
    # money keeps its two decimals, exactly the Parquet's DECIMAL, never a float rounded to 6 digits
    import duckdb

    header = [h.strip() for h in preview.splitlines()[0].strip("|").split("|")]
    money = [c for c, v in columns.items() if v["type"] == "DECIMAL(18,2)"]
    shown = [dict(zip(header, (v.strip() for v in line.strip("|").split("|")))) for line in preview.splitlines()[2:]]
    for row in shown:
        exact = (
            duckdb.connect()
            .execute(
                f"SELECT {', '.join(money)} FROM "
                f"read_parquet('{server['data']}/published/monthly_statistics/**/*.parquet', "
                "hive_partitioning = true) WHERE report_month = '2023-07' AND region_code = ? AND category = ?",
                [row["region_code"], row["category"]],
            )
            .fetchall()[0]
        )
        assert [row[c] for c in money] == [f"{v:.2f}" for v in exact]
    assert any(float(row["cumulative_deferred"]) >= 100_000 for row in shown)  # large enough to show float rounding
    for bad in ("nan", "NaT", "<NA>", "e+0"):
        assert bad not in preview
    data = graphql(
        server,
        """{ assetNodeOrError(assetKey: {path: ["repayment_schedule"]}) { ... on AssetNode {
        assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } } }""",
    )
    assert {c["name"] for c in data["assetNodeOrError"]["assetChecksOrError"]["checks"]} == {
        "obligations_add_up_to_ledger",
        "repaid_plus_outstanding_is_amount",
    }


def test_raw_inputs_are_observed_with_checksums(server):
    import hashlib

    data = graphql(
        server,
        """{ assetOrError(assetKey: {path: ["raw", "units"]}) { ... on Asset {
        assetObservations(limit: 1) { tags { key value } metadataEntries { label ... on JsonMetadataEntry {
        jsonString } } } } } }""",
    )
    observation = data["assetOrError"]["assetObservations"][0]
    files = json.loads(next(m["jsonString"] for m in observation["metadataEntries"] if m["label"] == "files"))
    raw = server["data"] / "raw" / "units"
    expected = sorted(
        p.relative_to(server["data"]).as_posix() for p in raw.rglob("*") if p.suffix in (".csv", ".parquet")
    )
    assert sorted(f["file"] for f in files) == expected
    for f in files:
        body = (server["data"] / f["file"]).read_bytes()
        assert f["bytes"] == len(body) and f["sha256"] == hashlib.sha256(body).hexdigest()
    assert any(t["key"] == "dagster/data_version" for t in observation["tags"])


def test_case_1_ui_launchpad_run_uses_the_configured_key(server):
    """Issue 8 case 1: a run launched from the UI (GraphQL, as the launchpad does) resolves DEFERRAL_PII_KEY
    through dg.EnvVar in the code location, with no run config for the settings."""
    from tests.trust import hmac16, raw_person_ids

    status = _launch(
        server,
        "monthly_job",
        ['["repayment_schedule"]'],
        'executionMetadata: {tags: [{key: "dagster/partition", value: "anhui-2022|2023-07"}]}',
    )
    assert status == "SUCCESS"
    import duckdb

    keys = {
        k
        for (k,) in duckdb.connect()
        .execute(
            f"SELECT person_key FROM "
            f"read_parquet('{server['data']}/warehouse/policy/repayment_schedule/2023-07/anhui-2022.parquet') "
            "WHERE person_key IS NOT NULL"
        )
        .fetchall()
    }
    assert keys and keys <= {hmac16(UI_KEY, i) for i in raw_person_ids(server["data"], valid_only=True)}


def chromium(server, url: str, *args: str) -> subprocess.CompletedProcess:
    profile = server["tmp"] / f"chromium-{time.monotonic_ns()}"
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1800,1100",
            *args,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


def visible_text(dom: str) -> str:
    import re

    dom = re.sub(r"<script.*?</script>|<style.*?</style>", "", dom, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")


@needs_chromium
def test_asset_graph_page_renders(server):
    url = f"{server['url']}/assets/published/monthly_statistics?view=lineage&lineageScope=upstream&lineageDepth=8"
    text = visible_text(chromium(server, url, "--virtual-time-budget=25000", "--dump-dom").stdout)
    for name in (
        "monthly_statistics",
        "deferral_ledger",
        "repayment_schedule",
        "deferral_decisions",
        "units",
        "contributions",
        "ingest",
        "policy",
        "reconciliation",
    ):
        assert name in text, name
    assert "Join the Dagster community" not in text  # the sign-up pop-up is off (dagster.yaml nux)
    shot = server["tmp"] / "asset_graph.png"
    chromium(server, url, "--virtual-time-budget=25000", f"--screenshot={shot}")
    with Image.open(shot) as image:
        assert image.size == (1800, 1100)
        assert len(set(image.convert("RGB").resize((90, 55)).getdata())) > 20


@needs_chromium
def test_validation_report_renders_styled_offline(server):
    page = (server["data"] / "data_docs" / "validation_report.html").as_uri()
    text = visible_text(chromium(server, page, "--dump-dom").stdout)
    assert "Validation report" in text and "contributions" in text and "expect_column_values_to_match_regex" in text
    assert "NO 不一致" not in text
    shot = server["tmp"] / "validation_report.png"
    chromium(server, page, f"--screenshot={shot}")
    with Image.open(shot) as image:
        pixels = set(image.convert("RGB").getdata())
    assert (0x3B, 0x6E, 0xA5) in pixels  # the inline stylesheet's table-header blue: CSS applied without a network


def test_a_second_run_with_no_change_leaves_nothing_unsynced(server):
    """The raw exports are observed at the start of the ingest run, so each ingest records the version it
    read: after a second `deferral run` with no file changed nothing is *Unsynced* (before, every ingest
    asset was: its input version was logged inside its own step, after the fact). Last in this module:
    it runs again on the server's data dir."""
    env_before = dict(os.environ)
    os.environ.update(DAGSTER_HOME=str(server["tmp"] / "home"), DEFERRAL_GX_DATA_DOCS="0")
    try:
        result = CliRunner().invoke(app, ["run", "--data-dir", str(server["data"])])
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    assert result.exit_code == 0, result.output
    nodes = graphql(server, "{ assetNodes { assetKey { path } isPartitioned isObservable staleStatus } }")["assetNodes"]
    status = {"/".join(n["assetKey"]["path"]): n["staleStatus"] for n in nodes if not n["isPartitioned"]}
    assert {k for k in status if k.startswith("ingest/")} == {f"ingest/{t}" for t in LINEAGE_TABLES}
    assert {k: v for k, v in status.items() if v != "FRESH" and not k.startswith("raw/")} == {}


def _launch(server, job: str, paths: list[str], metadata: str = "") -> str:
    """A run of ``job`` launched from the UI for the assets at ``paths`` (GraphQL lists, as the launchpad
    and the asset graph's *Observe sources* / *Materialize selected* send them), waited for: its status."""
    selection = ", ".join(f"{{path: {p}}}" for p in paths)
    launched = graphql(
        server,
        """mutation { launchRun(executionParams: {
        selector: {repositoryLocationName: "deferral", repositoryName: "__repository__", jobName: "%s",
                   assetSelection: [%s]}, runConfigData: "{}", %s}) {
        __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
        % (job, selection, metadata),
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    for _ in range(240):
        status = graphql(server, f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}')["runOrError"][
            "status"
        ]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(1)
    return status


def _launch_ingest(server, keys: list[str]) -> None:
    assert _launch(server, "ingest_job", [json.dumps(k.split("/")) for k in keys]) == "SUCCESS"


def _stale(server, partition: str) -> tuple[set[str], dict[str, set[str]]]:
    """The assets shown *Unsynced* (a partitioned one: its ``partition``), and each asset's children."""
    nodes = graphql(server, "{ assetNodes { assetKey { path } isPartitioned staleStatus dependedByKeys { path } } }")
    nodes = nodes["assetNodes"]
    stale = {"/".join(n["assetKey"]["path"]) for n in nodes if not n["isPartitioned"] and n["staleStatus"] == "STALE"}
    keys = ", ".join("{path: %s}" % json.dumps(n["assetKey"]["path"]) for n in nodes if n["isPartitioned"])
    partitioned = graphql(
        server,
        "{ assetNodes(assetKeys: [%s]) { assetKey { path } staleStatus(partition: %s) } }"
        % (keys, json.dumps(partition)),
    )["assetNodes"]
    stale |= {"/".join(n["assetKey"]["path"]) for n in partitioned if n["staleStatus"] == "STALE"}
    return stale, {"/".join(n["assetKey"]["path"]): {"/".join(k["path"]) for k in n["dependedByKeys"]} for n in nodes}


def test_a_changed_raw_file_makes_exactly_its_ingest_and_then_what_reads_it_stale(server):
    """After the second run above, one export changes (a line added to raw/elections/elections.csv).
    Observed from the UI, exactly the elections ingest is *Unsynced* (Dagster marks an asset whose
    direct input has a new data version; it does not mark the whole subgraph at once). Once that ingest
    is materialized again, exactly the assets reading it are: the validation report and each
    report-month asset reading elections, partition by partition; nothing else."""
    partition = "anhui-2022|2023-07"
    with open(server["data"] / "raw" / "elections" / "elections.csv", "a", encoding="utf-8") as fh:
        fh.write("U404,opt_out,2022-07-20\n")
    _launch_ingest(server, [f"raw/{t}" for t in LINEAGE_TABLES])
    stale, children = _stale(server, partition)
    assert stale == {"ingest/elections"}

    _launch_ingest(server, ["ingest/elections"])
    stale, _ = _stale(server, partition)
    readers = children["ingest/elections"]
    assert readers >= {"validation_report", "deferral_decisions"}
    assert not any(k.startswith("published/") for k in readers)
    assert stale == readers
