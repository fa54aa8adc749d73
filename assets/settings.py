"""The deployment's settings (部署配置): every ``DEFERRAL_*`` environment variable, one field of
:class:`Settings` each, bound with ``dg.EnvVar`` (:func:`settings_from_environment`, which the
Definitions use) so that every launch path resolves them alike; code outside a run reads
:func:`current_settings`, the same variables through ``dg.EnvVar``. No other module reads the
environment.
"""

import os
from typing import Optional

import dagster as dg

from assets.profiles import PolicyProfile, load_profiles

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
