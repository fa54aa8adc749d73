"""Where a run's steps execute, chosen per run (CLI ``--executor`` or the launchpad's
``execution.config``): ``in_process``, ``multiprocess`` (Dagster's own executors), or ``celery``,
Dagster's Celery executor (dagster-celery), whose steps go through a Redis broker to workers
started with ``deferral worker``. One executor definition serves every job, so the launchpad offers
all three on each.

The Celery app is Dagster's (``dagster_celery.make_app`` with the executor's own task), built from
the broker the settings name: ``DEFERRAL_CELERY_BROKER`` (default ``redis://127.0.0.1:6379/0``),
the result backend ``DEFERRAL_CELERY_BACKEND`` (default: the broker's URL). Launcher and workers
must name the same broker.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG, MULTI_PROC_CONFIG
from dagster._core.execution.retries import RetryMode
from dagster_celery.executor import CELERY_CONFIG, CeleryExecutor

from assets.settings import SETTINGS_ENV, current_settings, setting_is_set


def broker_url() -> str:
    return current_settings().celery_broker


def backend_url() -> str:
    return current_settings().celery_backend or broker_url()


def celery_run_config() -> dict:
    """The ``celery`` choice of :func:`deferral_executor` as run config: the broker and backend read
    from the environment by Dagster's config system (``env:``) where set, else the defaults."""

    def source(field: str, default: str):
        return {"env": SETTINGS_ENV[field]} if setting_is_set(field) else default

    return {
        "celery": {"broker": source("celery_broker", broker_url()), "backend": source("celery_backend", backend_url())}
    }


def _requirements(executor_config):
    return dg.multiple_process_executor_requirements() if "in_process" not in executor_config else []


@dg.executor(
    name="deferral_executor",
    config_schema=dg.Field(
        dg.Selector({"in_process": IN_PROC_CONFIG, "multiprocess": MULTI_PROC_CONFIG, "celery": CELERY_CONFIG}),
        default_value={"multiprocess": {}},
        description="in_process, multiprocess, or celery (steps on `deferral worker` processes through the broker).",
    ),
    requirements=_requirements,
)
def deferral_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    ((kind, config),) = init_context.executor_config.items()
    if kind != "celery":
        return dg.multi_or_in_process_executor.executor_creation_fn(init_context)
    return CeleryExecutor(
        broker=config.get("broker") or broker_url(),
        backend=config.get("backend") or backend_url(),
        include=config.get("include"),
        config_source=config.get("config_source"),
        retries=RetryMode.from_config(config["retries"]),
    )


def celery_app():
    """Dagster's Celery app for this project's broker, with the step task registered."""
    from dagster_celery.make_app import make_app
    from dagster_celery.tasks import create_task

    app = make_app(CeleryExecutor.for_cli(broker=broker_url(), backend=backend_url()).app_args())
    create_task(app)
    return app


def start_worker(name: str, concurrency: int = 1, loglevel: str = "INFO") -> None:
    """Runs a Celery worker on the ``dagster`` queue until stopped (SIGTERM or Ctrl-C)."""
    celery_app().worker_main(
        [
            "worker",
            "--queues",
            "dagster",
            "--hostname",
            name,
            "--concurrency",
            str(concurrency),
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            loglevel,
            "--without-gossip",
            "--without-mingle",
        ]
    )
