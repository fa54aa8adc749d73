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

import json
import multiprocessing
import os
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Iterator, Optional

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import ByteSize, PrivateAttr, TypeAdapter

from assets.contracts import RAW_TABLES, clean_glob
from assets.lock import DataDirBusy, acquire, release
from assets.profiles import PolicyProfile, load_profiles
from assets.settings import Settings, settings_from_environment
from assets.storage import matching, q

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA_DIR = REPO_ROOT / "data" / "sample"
LOCK_TAG = "deferral/lock"  # set by `deferral run`: its runs share the lock the command holds


class Warehouse(dg.ConfigurableResource):
    """The data dir of one deployment: ``raw/`` in, ``warehouse/``, ``quarantine/``, ``published/`` out."""

    data_dir: str
    # Great Expectations judges every row of every table (else every rejected row and a sample)
    full_validation: bool = False
    # compute every report month again, even those whose inputs are unchanged (`deferral run --full`)
    recompute_all: bool = False
    settings: dg.ResourceDependency[Settings]
    _lock_owner: Optional[str] = PrivateAttr(default=None)
    # who holds the data dir for this run (the CLI's token, or the run id): what one run wrote, e.g. the
    # check characters a `--full` run computed (assets/ingest/check_memo.py)
    _run_token: Optional[str] = PrivateAttr(default=None)

    # the data dir resolved once (every path of a step is made from it: thousands of calls a run)
    _root: Optional[Path] = PrivateAttr(default=None)

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(self.data_dir).resolve()
        return self._root

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """A run writes the data dir alone: take its lock (assets/lock.py) for the run's lifetime."""
        run = context.dagster_run
        if run is None:  # a sensor or schedule evaluating: reads only
            return
        owner = run.tags.get(LOCK_TAG) or run.run_id
        self._run_token = owner
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
    def run_token(self) -> Optional[str]:
        """The run's lock owner (None outside a run)."""
        return self._run_token

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
        """The glob of a table's accepted rows (:func:`assets.contracts.clean_glob`): a province's, or
        without ``province`` every province's."""
        return clean_glob(self.root, table, province)

    def clean_files(self, table: str, province: Optional[str] = None) -> list[Path]:
        """The files of :meth:`clean_path`, in name order."""
        return matching(self.clean_path(table, province))

    def scoped_path(self, table: str, province: str, key: str) -> Path:
        """``warehouse/scoped/<table>/<province>/<key>.parquet``: a province's rows of a table every
        province shares, cut file by file for the report months (assets/scoped_cuts.py ``province_rows``)."""
        return self.root / "warehouse" / "scoped" / table / province / f"{key}.parquet"

    def kept_check_path(self, check: str, month: str) -> Path:
        """``warehouse/invariants/<check>/<month>.json``: an every-month check's rows of a report month, with
        what they were read from (assets/month_checks.py)."""
        return self.root / "warehouse" / "invariants" / check / f"{month}.json"

    def has_clean(self, table: str) -> bool:
        """Whether ingest has written the table's accepted rows."""
        return bool(self.clean_files(table))

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

    def ingest_record_path(self, table: str, province: Optional[str] = None) -> Path:
        """``warehouse/ingest/<table>.json``: what a table's last ingest read and reported
        (assets/ingest/reuse.py); a table ingested by province also has one per province."""
        folder = self.root / "warehouse" / "ingest"
        return folder / table / f"{province}.json" if province else folder / f"{table}.json"

    def record_counts_path(self) -> Path:
        """``warehouse/ingest/_record_counts.json``: each raw file's records as counted without DuckDB,
        by the file's SHA-256 (assets/ingest/counts.py)."""
        return self.root / "warehouse" / "ingest" / "_record_counts.json"

    def ingest_digest(self, table: str) -> Optional[str]:
        """The digest of a table's last ingest (None before the first)."""
        try:
            return json.loads(self.ingest_record_path(table).read_text(encoding="utf-8"))["digest"]
        except (OSError, ValueError, KeyError):
            return None

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
    def connect(self, share: int = 1) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB of its own with the memory ceiling and threads of the settings; ``share``: one of that
        many run side by side in this process, each with its part of the ceiling (which holds for all) and
        every thread (one that finishes first leaves the others the cores)."""
        spill = self.root / "warehouse" / "_spill"
        spill.mkdir(parents=True, exist_ok=True)
        memory, threads = self.settings.duckdb_memory, self.settings.duckdb_threads
        if share > 1:
            memory = f"{TypeAdapter(ByteSize).validate_python(memory) // share // 2**20}MiB"
        engine = DuckDBResource(database=":memory:", connection_config={"memory_limit": memory, "threads": threads})
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
                        f"(DEFERRAL_DUCKDB_THREADS={self.settings.duckdb_threads}"
                        f"{f', shared by {share} side by side' if share > 1 else ''}): raise DEFERRAL_DUCKDB_MEMORY "
                        f"(the process "
                        f"needs about 1 GB more than it) or lower DEFERRAL_DUCKDB_THREADS, and run again "
                        f"[{str(error).splitlines()[0]}]"
                    ),
                    allow_retries=False,
                ) from None


def warehouse_resource(
    data_dir: str | None = None, profiles_dir: str | None = None, settings: Settings | None = None
) -> Warehouse:
    """The warehouse on ``data_dir`` (default ``DEFERRAL_DATA_DIR``, else the bundled sample).

    ``profiles_dir`` given explicitly (tests) overrides the environment's."""
    if settings is None:
        settings = settings_from_environment(**({} if profiles_dir is None else {"profiles_dir": profiles_dir}))
    data = (
        dg.EnvVar("DEFERRAL_DATA_DIR")
        if data_dir is None and dg.EnvVar("DEFERRAL_DATA_DIR").get_value()
        else (data_dir or str(SAMPLE_DATA_DIR))
    )
    return Warehouse(data_dir=data, settings=settings)
