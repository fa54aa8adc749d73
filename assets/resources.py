"""Resources: the deployment's settings, where a run's data lives, and the DuckDB engine on it.

Two resources, so that what differs per run can never blank what the deployment sets:
- ``Settings`` holds every environment setting, each bound with ``dg.EnvVar`` by
  :func:`settings_from_environment` (here), which the Definitions use. No launch path passes run
  config for it, so the CLI, the UI launchpad, schedules, sensors and ``dagster asset materialize``
  resolve it alike; code outside a run (partitions, the generator, Celery) reads
  :func:`current_settings`, the same variables through ``dg.EnvVar``.
- ``Warehouse`` holds what a run may choose (the data dir, whether GX judges every row) and
  depends on ``Settings``. The report month is the run's partition, not a resource field. Run config for
  ``warehouse`` replaces only its own fields.

Storage design (docs/architecture.md): every asset writes Parquet under the data dir and reads
its upstream assets' Parquet. DuckDB is the engine inside a step, on a private in-memory
database that spills to ``<data-dir>/warehouse/_spill``; no DuckDB file is shared between
steps, so steps can run in parallel processes or on other machines.
"""

import multiprocessing
import os
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator, Optional

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import PrivateAttr

from assets.contracts import RAW_TABLES
from assets.lock import DataDirBusy, acquire, release
from assets.profiles import PolicyProfile, load_profiles
from assets.storage import q

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"
DEV_PII_KEY = "deferral-development-key-not-for-production"

# environment variable -> Settings field; read only through dg.EnvVar (pipelines/definitions.py)
SETTINGS_ENV = {
    "pii_key": "DEFERRAL_PII_KEY",
    "profiles_dir": "DEFERRAL_PROFILES_DIR",
    "duckdb_memory": "DEFERRAL_DUCKDB_MEMORY",
    "duckdb_threads": "DEFERRAL_DUCKDB_THREADS",
    "gx_batch_rows": "DEFERRAL_GX_BATCH_ROWS",
    "gx_sample_rows": "DEFERRAL_GX_SAMPLE_ROWS",
    "gx_data_docs": "DEFERRAL_GX_DATA_DOCS",
    "lock_wait_seconds": "DEFERRAL_LOCK_WAIT",
    "docs_url": "DEFERRAL_DOCS_URL",
    "celery_broker": "DEFERRAL_CELERY_BROKER",
    "celery_backend": "DEFERRAL_CELERY_BACKEND",
}
INT_SETTINGS = {"duckdb_threads", "gx_batch_rows", "gx_sample_rows", "gx_data_docs", "lock_wait_seconds"}
LOCK_TAG = "deferral/lock"  # set by `deferral run`: its runs share the lock the command holds
_warned_runs: set[str] = set()


class Settings(dg.ConfigurableResource):
    """Deployment settings (部署配置), each from its environment variable through ``dg.EnvVar``."""

    pii_key: Optional[str] = None  # DEFERRAL_PII_KEY; None: the development key, with one warning per run
    profiles_dir: str = ""  # DEFERRAL_PROFILES_DIR; empty: assets/policy/profiles
    # DEFERRAL_DUCKDB_MEMORY: DuckDB's ceiling per step; beyond it DuckDB spills to warehouse/_spill. The
    # process adds Python, Dagster and GX (about 1 GB) on top: 2GB keeps a province run near 3-4 GB.
    duckdb_memory: str = "2GB"
    duckdb_threads: int = 2  # DEFERRAL_DUCKDB_THREADS
    gx_batch_rows: int = 500_000  # DEFERRAL_GX_BATCH_ROWS: rows per Great Expectations batch
    # DEFERRAL_GX_SAMPLE_ROWS: accepted rows per table (contributions: per province) GX judges beside
    # every rejected row (the SQL compiled from the same suite judges every row); `deferral run
    # --full-validation`: all rows
    gx_sample_rows: int = 200_000
    # DEFERRAL_GX_DATA_DOCS=0: no Great Expectations Data Docs site under data_docs/<table>/ (about 1 s
    # a table a run); the offline validation report, which auditors read, is written either way
    gx_data_docs: int = 1
    lock_wait_seconds: int = 0  # DEFERRAL_LOCK_WAIT: how long a run waits for a busy data dir before failing
    # DEFERRAL_DOCS_URL: where `deferral docs` (or the deployment's web server) serves data_docs/ and the
    # published reports, so the UI links to pages a browser opens (a file:// link from a web page does not)
    docs_url: str = "http://127.0.0.1:8765"
    # DEFERRAL_CELERY_BROKER, DEFERRAL_CELERY_BACKEND (empty: the broker's URL): where `--executor celery`
    # sends steps and where `deferral worker` takes them from; launcher and workers must name the same
    celery_broker: str = "redis://127.0.0.1:6379/0"
    celery_backend: str = ""

    @property
    def pii_key_kind(self) -> str:
        """'configured' or 'development': what published metadata records (never the key)."""
        return "configured" if self.pii_key else "development"

    @property
    def effective_pii_key(self) -> str:
        return self.pii_key or DEV_PII_KEY

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        run = context.dagster_run
        if self.pii_key or run is None or run.run_id in _warned_runs:
            return
        _warned_runs.add(run.run_id)
        if context.log:
            context.log.warning(
                "DEFERRAL_PII_KEY is not set: person_key uses the DEVELOPMENT key, which anyone can "
                "recompute; published tables record pii_key=development. Set it in production."
            )


class Warehouse(dg.ConfigurableResource):
    """The data dir of one deployment: ``raw/`` in, ``warehouse/``, ``quarantine/``, ``published/`` out."""

    data_dir: str
    # Great Expectations judges every row of every table (else every rejected row and a sample)
    full_validation: bool = False
    settings: dg.ResourceDependency[Settings]
    _lock_owner: Optional[str] = PrivateAttr(default=None)

    @property
    def root(self) -> Path:
        return Path(self.data_dir).resolve()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run writes the data dir alone: take its lock (assets/lock.py) for the run's lifetime."""
        run = context.dagster_run
        if run is None:  # a sensor or schedule evaluating: reads only
            return
        owner = run.tags.get(LOCK_TAG) or run.run_id
        parent = multiprocessing.parent_process()  # a step of the multiprocess executor: its run worker lives on
        instance = context.instance

        def run_finished(other: str) -> bool:
            other_run = instance.get_run_by_id(other) if instance else None
            return bool(other_run and other_run.is_finished)

        try:
            taken = acquire(
                self.root,
                owner,
                pid=parent.pid if parent else os.getpid(),
                what="Dagster run",
                wait_seconds=self.settings.lock_wait_seconds,
                run_finished=run_finished,
                log=context.log.warning if context.log else None,
            )
        except DataDirBusy as busy:
            raise dg.Failure(description=str(busy)) from None
        if taken and parent is None:
            self._lock_owner = owner

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock_owner:
            release(self.root, self._lock_owner)

    @property
    def pii_key(self) -> str:
        return self.settings.effective_pii_key

    def raw_dir(self, table: str) -> Path:
        return self.root / "raw" / table

    def staged_dir(self, table: str, share: Optional[str] = None) -> Path:
        """Where ingest stages a table's files as Parquet; ``share``: a province's (or ``_shared``) part."""
        folder = self.root / "warehouse" / "staged" / table
        return folder / share if share else folder

    def clean_path(self, table: str, province: Optional[str] = None) -> Path:
        """``warehouse/clean/<table>.parquet``; for a table ingested by province, the province's
        ``warehouse/clean/<table>/<province>.parquet``, or without ``province`` the glob of every
        province's file, which ``read_parquet`` reads as one table."""
        if RAW_TABLES[table].by_province:
            return self.root / "warehouse" / "clean" / table / f"{province or '*'}.parquet"
        return self.root / "warehouse" / "clean" / f"{table}.parquet"

    def has_clean(self, table: str) -> bool:
        """Whether ingest has written the table's accepted rows (every province's file, or the one file)."""
        path = self.clean_path(table)
        return any(path.parent.glob(path.name))  # a glob, or the one file's own name

    def duplicates_path(self, table: str, province: Optional[str] = None) -> Path:
        """The exact duplicates ingest dropped (file and line only): like :meth:`clean_path`."""
        folder = self.root / "warehouse" / "duplicates"
        return (
            folder / table / f"{province or '*'}.parquet"
            if RAW_TABLES[table].by_province
            else folder / f"{table}.parquet"
        )

    def quarantine_dir(self, table: str) -> Path:
        return self.root / "quarantine" / table

    def quarantine_path(self, table: str, province: Optional[str] = None) -> Path:
        """The quarantine file one ingest step writes: ``quarantine.parquet``, or the province's."""
        return self.quarantine_dir(table) / f"{province or 'quarantine'}.parquet"

    def validation_path(self, table: str, province: Optional[str] = None) -> Path:
        """``warehouse/validation/<table>.json``: GX's and the SQL rules' verdicts on a table (for a table
        ingested by province, the merge of each province's ``warehouse/validation/<table>/<province>.json``)."""
        folder = self.root / "warehouse" / "validation"
        return folder / table / f"{province}.json" if province else folder / f"{table}.json"

    def docs_dir(self) -> Path:
        return self.root / "data_docs"

    def docs_link(self, relative: str) -> str:
        """The URL of a page under data_docs/ (or ``report/...``: the published reports) as `deferral docs` serves
        it."""
        return self.settings.docs_url.rstrip("/") + "/" + relative.lstrip("/")

    def policy_path(self, name: str, month: Optional[str] = None, province: Optional[str] = None) -> Path:
        """``warehouse/policy/<name>.parquet``; for a report month, ``<name>/<month>/<province>.parquet``
        (one file per province partition), or without ``province`` the glob of every province's file
        of that month, which ``read_parquet`` reads as one table."""
        folder = self.root / "warehouse" / "policy"
        if not month:
            return folder / f"{name}.parquet"
        return folder / name / month / f"{province or '*'}.parquet"

    def policy_months(self, name: str) -> list[str]:
        """Report months written for a partitioned policy asset (by any province), oldest first."""
        return sorted({p.parent.name for p in (self.root / "warehouse" / "policy" / name).glob("*/*.parquet")})

    def latest_policy_month(self, name: str) -> str:
        """The latest report month written for ``name``."""
        months = self.policy_months(name)
        if not months:
            raise ValueError(f"no report month of {name} has been materialized yet")
        return months[-1]

    def published_dir(self, table: str) -> Path:
        return self.root / "published" / table

    def profiles(self) -> list[PolicyProfile]:
        return load_profiles(self.settings.profiles_dir or None)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        spill = self.root / "warehouse" / "_spill"
        spill.mkdir(parents=True, exist_ok=True)
        engine = DuckDBResource(
            database=":memory:",
            connection_config={"memory_limit": self.settings.duckdb_memory, "threads": self.settings.duckdb_threads},
        )
        # closing(): dagster-duckdb closes only when the block succeeds; a failed step's connection
        # (with its Python UDFs) would otherwise live on in the traceback and DuckDB report it at exit
        with engine.get_connection() as con, closing(con):
            con.execute(f"SET temp_directory = {q(spill)}")
            con.execute("SET preserve_insertion_order = false")
            try:
                yield con
            except duckdb.OutOfMemoryException as error:
                # one line naming the setting that raises the ceiling (Dagster names the step), not DuckDB's
                # tuning advice
                raise dg.Failure(
                    description=(
                        f"DuckDB ran out of memory at its ceiling DEFERRAL_DUCKDB_MEMORY={self.settings.duckdb_memory} "
                        f"(DEFERRAL_DUCKDB_THREADS={self.settings.duckdb_threads}): raise DEFERRAL_DUCKDB_MEMORY "
                        f"(the process "
                        f"needs about 1 GB more than it) or lower DEFERRAL_DUCKDB_THREADS, and run again "
                        f"[{str(error).splitlines()[0]}]"
                    ),
                    allow_retries=False,
                ) from None


def current_settings() -> Settings:
    """The settings as the environment gives them now, for code that runs outside a Dagster run (the
    partitions' provinces at definition time, the generator, a Celery worker's broker): each variable
    resolved by ``dg.EnvVar`` as a run resolves it, with the same defaults."""
    values = {}
    for field, env in SETTINGS_ENV.items():
        value = dg.EnvVar(env).get_value()
        if value not in (None, ""):
            values[field] = int(value) if field in INT_SETTINGS else value
    return Settings(**values)


def setting_is_set(field: str) -> bool:
    """Whether the environment sets ``field`` (else its default applies)."""
    return dg.EnvVar(SETTINGS_ENV[field]).get_value() not in (None, "")


def profiles_in_use() -> list[PolicyProfile]:
    """The profiles of ``DEFERRAL_PROFILES_DIR`` (the default folder when unset), for code without
    the warehouse resource: partitions, the generator."""
    return load_profiles(current_settings().profiles_dir or None)


def settings_from_environment(**overrides) -> Settings:
    """Settings bound to their environment variables with ``dg.EnvVar``: Dagster resolves them when
    a run starts, the same on every launch path. A variable that is not set keeps the default;
    ``overrides`` (tests) replace a binding."""
    bound = {}
    for field, env in SETTINGS_ENV.items():
        if env in os.environ:  # presence only; the value is resolved by Dagster
            bound[field] = dg.EnvVar.int(env) if field in INT_SETTINGS else dg.EnvVar(env)
    return Settings(**{**bound, **overrides})


def warehouse_resource(
    data_dir: str | None = None, profiles_dir: str | None = None, settings: Settings | None = None
) -> Warehouse:
    """The warehouse on ``data_dir`` (default ``DEFERRAL_DATA_DIR``, else the bundled sample).

    ``profiles_dir`` given explicitly (tests) overrides the environment's."""
    if settings is None:
        settings = settings_from_environment(**({} if profiles_dir is None else {"profiles_dir": profiles_dir}))
    data = (
        dg.EnvVar("DEFERRAL_DATA_DIR")
        if data_dir is None and "DEFERRAL_DATA_DIR" in os.environ
        else (data_dir or str(SAMPLE_DATA_DIR))
    )
    return Warehouse(data_dir=data, settings=settings)
