"""Resources: where a run's data lives and the DuckDB engine that works on it.

Storage design (docs/ARCHITECTURE.md): every asset writes Parquet under the data dir and reads
its upstream assets' Parquet. DuckDB is the engine inside a step, on a private in-memory
database that spills to ``<data-dir>/warehouse/_spill``; no DuckDB file is shared between
steps, so steps can run in parallel processes or on other machines.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines.profiles import PolicyProfile, load_profiles

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"


def default_data_dir() -> str:
    return os.environ.get("DEFERRAL_DATA_DIR", str(SAMPLE_DATA_DIR))


class Warehouse(dg.ConfigurableResource):
    """The data dir of one deployment: ``raw/`` in, ``warehouse/``, ``quarantine/``, ``published/`` out."""

    data_dir: str
    profiles_dir: str = ""
    as_of: str = ""  # the run's report month YYYY-MM (what publication shows); empty: the latest month computed
    pii_key: str = ""  # DEFERRAL_PII_KEY; empty: a development key, with a warning
    duckdb: DuckDBResource

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def raw_dir(self, table: str) -> Path:
        return self.root / "raw" / table

    def staged_dir(self, table: str) -> Path:
        return self.root / "warehouse" / "staged" / table

    def clean_path(self, table: str) -> Path:
        return self.root / "warehouse" / "clean" / f"{table}.parquet"

    def quarantine_dir(self, table: str) -> Path:
        return self.root / "quarantine" / table

    def docs_dir(self) -> Path:
        return self.root / "data_docs"

    def policy_path(self, name: str, month: str | None = None) -> Path:
        """``warehouse/policy/<name>.parquet``, or ``<name>/<month>.parquet`` for a report month."""
        folder = self.root / "warehouse" / "policy"
        return folder / name / f"{month}.parquet" if month else folder / f"{name}.parquet"

    def policy_months(self, name: str) -> list[str]:
        """Report months written for a partitioned policy asset, oldest first."""
        return sorted(p.stem for p in (self.root / "warehouse" / "policy" / name).glob("*.parquet"))

    def latest_policy_month(self, name: str) -> str:
        """The configured as-of month, else the latest report month written for ``name``."""
        if self.as_of:
            return self.as_of
        months = self.policy_months(name)
        if not months:
            raise ValueError(f"no report month of {name} has been materialized yet")
        return months[-1]

    def published_dir(self, table: str) -> Path:
        return self.root / "published" / table

    def profiles(self) -> list[PolicyProfile]:
        return load_profiles(self.profiles_dir or None)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        spill = self.root / "warehouse" / "_spill"
        spill.mkdir(parents=True, exist_ok=True)
        with self.duckdb.get_connection() as con:
            con.execute(f"SET temp_directory = '{spill}'")
            con.execute("SET preserve_insertion_order = false")
            yield con


def warehouse_resource(data_dir: str | None = None, as_of: str | None = None,
                       profiles_dir: str | None = None) -> Warehouse:
    return Warehouse(
        data_dir=data_dir or default_data_dir(),
        profiles_dir=profiles_dir if profiles_dir is not None else os.environ.get("DEFERRAL_PROFILES_DIR", ""),
        as_of=as_of if as_of is not None else os.environ.get("DEFERRAL_AS_OF", ""),
        pii_key=os.environ.get("DEFERRAL_PII_KEY", ""),
        duckdb=DuckDBResource(
            database=":memory:",
            connection_config={
                "memory_limit": os.environ.get("DEFERRAL_DUCKDB_MEMORY", "12GB"),
                "threads": int(os.environ.get("DEFERRAL_DUCKDB_THREADS", "2")),
            },
        ),
    )
