"""Helpers for the trust tests: run the product's own commands as an operator would, in subprocesses
(:func:`run`) or, where the run needs no process of its own, in the test process (:func:`run_here`)."""

import contextlib
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE_RAW = ROOT / "data" / "sample" / "raw"


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEFERRAL_", "DAGSTER_"))}
    # GX Data Docs only where a test reads them (keyed_run: no raw person id in data_docs/): about 1 s a table.
    # One DuckDB thread: two test processes (pytest-xdist) share CI's two cores, and the report's workbooks are
    # then written in the run's own process instead of spawned ones (a tenth of a sample run's CPU); the run
    # made as a user makes it (conftest.py ``keyed_run``) keeps the default of two, and the spawned writers.
    env.update(
        {
            "DAGSTER_HOME": str(data_dir / ".dagster"),
            "DEFERRAL_DATA_DIR": str(data_dir),
            "DEFERRAL_GX_DATA_DOCS": "0",
            "DEFERRAL_DUCKDB_THREADS": "1",
            **extra,
        }
    )
    return env


def deferral(data_dir: Path, *args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "deferral"), *args],
        cwd=ROOT,
        env=env or env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return deferral(data_dir, "run", "--data-dir", str(data_dir), *args, env=env_for(data_dir, **extra))


def run_here(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    """`deferral run` with the environment :func:`run` gives it, in this test process through typer's
    CliRunner: the process imports Dagster, the definitions and Great Expectations once, where every
    subprocess pays them again (about 11 s of CPU). Settings, the profiles folder included, are read when
    the run starts (Dagster's cached definitions are dropped before and after). The environment, with what
    the command sets in it, is restored afterwards; an exception the command did not handle is on stderr,
    as a subprocess prints it."""
    import traceback

    from typer.testing import CliRunner

    from pipelines.cli import app

    before = dict(os.environ)
    forget_cached_definitions()
    os.environ.clear()
    os.environ.update(env_for(data_dir, **extra))
    try:
        result = CliRunner().invoke(app, ["run", "--data-dir", str(data_dir), *args])
    finally:
        os.environ.clear()
        os.environ.update(before)
        forget_cached_definitions()
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(["deferral", "run", *args], result.exit_code, result.stdout, stderr)


def copy_sample(target: Path) -> Path:
    shutil.copytree(SAMPLE_RAW, target / "raw")
    return target


def hmac16(key: str, person_id: str) -> str:
    return hmac.new(key.encode(), person_id.encode(), hashlib.sha256).hexdigest()[:16]


def raw_person_ids(data_dir: Path, valid_only: bool = False) -> set[str]:
    """Every person id cell of the raw files (trimmed), read independently of the pipeline."""
    con = duckdb.connect()
    ids: set[str] = set()
    for table in ("contributions", "employee_events"):
        for path in sorted((data_dir / "raw" / table).iterdir()):
            reader = (
                f"read_csv('{path}', all_varchar = true, ignore_errors = true)"
                if path.suffix == ".csv"
                else f"read_parquet('{path}')"
            )
            ids |= {
                v.strip()
                for (v,) in con.execute(f"SELECT DISTINCT person_id::VARCHAR FROM {reader}").fetchall()
                if v and len(v.strip()) >= 15
            }
    if valid_only:
        from stdnum.cn import ric

        ids = {
            i
            for i in ids
            if len(i) == 18 and i[:17].isascii() and i[:17].isdigit() and ric.calc_check_digit(i) == i[17]
        }
    return ids


def parquet_values(glob: str, column: str) -> list:
    return [
        v
        for (v,) in duckdb.connect()
        .execute(f"SELECT {column} FROM read_parquet('{glob}', hive_partitioning = true)")
        .fetchall()
    ]


def forget_cached_definitions() -> None:
    """Dagster caches the last definitions a reconstructable job built in this process; a test that built
    them under a changed environment clears them, so later tests build their own."""
    from dagster._core.definitions.reconstruct import ReconstructableJob

    ReconstructableJob.get_definition.cache_clear()
    ReconstructableJob.get_repository_definition.cache_clear()


# What a PUBLICATION.json says about the publication's history, not its content: the run, the raw
# files it was made from (their names depend on how the exports were cut), the publication before it
# and what it restated against that one. Two publications of the same content differ only there.
HISTORY_FIELDS = ("run_id", "raw_files", "previous", "restated_months", "restatements")


def manifest_content(text: bytes | str) -> bytes:
    manifest = {k: v for k, v in json.loads(text).items() if k not in HISTORY_FIELDS}
    return json.dumps(manifest, sort_keys=True).encode()


def workbook_content(path: Path) -> bytes:
    """A workbook's cells, every sheet but 更正说明 (which lists what changed since the previous
    publication: history, not content), as bytes to compare."""
    from openpyxl import load_workbook

    book = load_workbook(path)
    sheets = [ws for ws in book.worksheets if ws.title != "更正说明"]
    cells = [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in sheets]
    return repr(cells).encode()


@contextlib.contextmanager
def webserver(home: Path, env: dict[str, str]):
    """A real dagster-webserver on loopback for ``home`` (DAGSTER_HOME) with ``env``; yields its URL and
    stops it when the block ends."""
    from pipelines.local_cluster import free_port

    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT,
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/server_info", timeout=2)
                break
            except OSError:
                time.sleep(1)
        else:
            raise AssertionError("dagster-webserver did not start within 120 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql", data=json.dumps({"query": query}).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:  # GraphQL says why in the body
        raise AssertionError(f"{error}: {error.read()[:2000]!r}") from None
    assert "errors" not in body, body
    return body["data"]
