"""Helpers for the trust tests: run the product's own commands in subprocesses, as an operator would."""

import hashlib
import hmac
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAMPLE_RAW = ROOT / "data" / "sample" / "raw"


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEFERRAL_", "DAGSTER_"))}
    # GX Data Docs only where a test reads them (keyed_run: no raw person id in data_docs/): about 1 s a table
    env.update(
        {
            "DAGSTER_HOME": str(data_dir / ".dagster"),
            "DEFERRAL_DATA_DIR": str(data_dir),
            "DEFERRAL_GX_DATA_DOCS": "0",
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
