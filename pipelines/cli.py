"""The ``deferral`` command: generate synthetic data, run the pipeline through Dagster."""

import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, help="阶段性缓缴职工医保单位缴费 — deferral pipeline.")


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"deferral: {message}", err=True)
    raise typer.Exit(code)


@app.command()
def generate(
    data_dir: Annotated[Path, typer.Option(help="Where raw/ is written.")],
    scale: Annotated[str, typer.Option(help="tiny | city | city4 (four provinces) | province")] = "tiny",
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing raw/ (its files are deleted).")] = False,
    through: Annotated[
        Optional[str],
        typer.Option(
            help="YYYY-MM: write the data as monthly exports up to this month; a later --through on the same "
            "data dir (same scale and seed) adds the new months' files and changes none."
        ),
    ] = None,
    measures: Annotated[
        bool,
        typer.Option(
            "--measures",
            help="Also write <data-dir>/profiles/: the profiles in use with two planted city measures each "
            "(SPEC section 8); run with DEFERRAL_PROFILES_DIR=<data-dir>/profiles.",
        ),
    ] = False,
) -> None:
    """Write synthetic raw tables for both policy profiles, and a manifest of what was planted."""
    from pipelines.synthetic.generate import generate as run_generate
    from pipelines.synthetic.monthly_exports import may_add_months

    if through is not None and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", through):
        raise typer.BadParameter("--through must be YYYY-MM")
    raw = data_dir / "raw"
    adding = through is not None and may_add_months(raw, scale, seed)
    if raw.exists() and any(raw.iterdir()) and not force and not adding:
        fail(
            f"{raw} already holds files (a real export?); nothing was changed. Choose another --data-dir, or pass "
            "--force to delete it and generate anew."
        )
    try:
        if force and raw.exists():
            shutil.rmtree(raw)
        manifest = run_generate(data_dir, scale, seed, through=through)
    except ValueError as problem:  # an unknown scale, or profiles that do not cover the scale's regions
        fail(str(problem))
    if "tables" not in manifest:
        typer.echo(f"wrote the monthly exports through {through} to {raw} (the last month brings raw/manifest.json)")
        return
    rows = sum(t["rows"] for t in manifest["tables"].values())
    typer.echo(f"wrote {rows:,} rows in 9 tables to {raw} (manifest: raw/manifest.json)")
    if measures:
        from assets.settings import current_settings
        from pipelines.synthetic.measures import plant_measures

        folder = plant_measures(data_dir, current_settings().profiles_dir or None, scale)
        typer.echo(f"wrote the profiles with planted city measures to {folder}: DEFERRAL_PROFILES_DIR={folder}")


def _valid_months(data_dir: Path) -> tuple[str, Optional[str]]:
    from assets.partitions import first_report_month, latest_contribution_period

    return first_report_month(), latest_contribution_period(data_dir)


@app.command()
def run(
    data_dir: Annotated[Path, typer.Option(help="Data dir holding raw/.")],
    as_of: Annotated[
        Optional[str], typer.Option(help="Report month YYYY-MM; default: latest contribution period.")
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            help="in_process | multiprocess | celery (steps on `deferral worker` processes; provinces side by side)"
        ),
    ] = "in_process",
    log_level: Annotated[
        str, typer.Option(help="Dagster console log level: INFO shows progress, DEBUG every event.")
    ] = "INFO",
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Every line Dagster and the steps log (--log-level DEBUG).")
    ] = False,
    wait: Annotated[int, typer.Option(help="Seconds to wait while another run writes this data dir.")] = 0,
    full_validation: Annotated[
        bool,
        typer.Option(
            help="Great Expectations judges every row (default: every rejected row and a sample; SQL judges all)."
        ),
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Compute every report month again (default: only months whose inputs changed since)."
        ),
    ] = False,
) -> None:
    """Materialize every asset through Dagster; runs and checks show in the UI afterwards."""
    if as_of is not None and not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", as_of):
        raise typer.BadParameter("--as-of must be YYYY-MM")
    if executor not in ("in_process", "multiprocess", "celery"):
        raise typer.BadParameter("--executor must be in_process, multiprocess or celery")
    data_dir = data_dir.resolve()
    if not (data_dir / "raw").is_dir() and not (data_dir / "sources.yaml").is_file():
        raise typer.BadParameter(
            f"{data_dir / 'raw'} does not exist and no sources.yaml names a database (try `deferral generate`)"
        )
    (data_dir / "raw").mkdir(exist_ok=True)  # a database source's rows are snapshotted there
    first_month, _ = _valid_months(data_dir)
    if as_of is not None and as_of < first_month:
        fail(
            f"--as-of {as_of} is before every policy's first period: report months run from {first_month} through "
            "the latest accepted contribution period"
        )
    from assets.ingest.gx_process import started as gx_started  # imports GX in a process of its own meanwhile

    with gx_started(executor == "in_process"):
        _run_locked(data_dir, as_of, executor, verbose, log_level, wait, full_validation, full)


def _run_locked(data_dir, as_of, executor, verbose, log_level, wait, full_validation, full) -> None:
    from pipelines.event_log import make_home

    home = make_home(Path(os.environ.get("DAGSTER_HOME") or data_dir / ".dagster"))
    os.environ["DAGSTER_HOME"] = str(home)
    # one "materialization planned" event per asset of a ranged run (docs/architecture.md, "Events cost time on SQLite")
    from pipelines.summary import PLANNED_SUBSET

    os.environ.setdefault(PLANNED_SUBSET, "1")

    from assets.lock import DataDirBusy, acquire, release
    from assets.resources import LOCK_TAG

    token = f"cli-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        acquire(
            data_dir,
            token,
            pid=os.getpid(),
            what="`deferral run`",
            wait_seconds=wait,
            log=lambda m: typer.echo(f"warning: {m}", err=True),
        )
    except DataDirBusy as busy:
        fail(str(busy))
    try:
        level = "DEBUG" if verbose else log_level
        ok = _run(data_dir, as_of, executor, level, home, {LOCK_TAG: token}, full_validation, full)
    finally:
        release(data_dir, token)
    if not ok:
        sys.exit(1)


def _run(
    data_dir: Path,
    as_of: Optional[str],
    executor: str,
    log_level: str,
    home: Path,
    lock_tags: dict,
    full_validation: bool = False,
    full: bool = False,
) -> bool:
    import dagster as dg

    from assets.month_digests import MONTH_INPUTS_TAG, record_planned
    from assets.months import prior
    from assets.resources import Warehouse
    from assets.settings import current_settings
    from pipelines.definitions import ingest_job_def, monthly_job_def
    from pipelines.executors import celery_run_config
    from pipelines.jobs import (
        IN_PROCESS,
        MULTIPROCESS,
        code_location_tags,
        hold_connections,
        mark_killed_runs,
        monthly_run_tags,
        with_console_steps,
    )
    from pipelines.scale_out import run_provinces_side_by_side
    from pipelines.summary import print_summary

    executor_config = {
        "in_process": IN_PROCESS,
        "multiprocess": MULTIPROCESS,
        "celery": {"execution": {"config": celery_run_config()}},
    }[executor]

    # only the warehouse's data dir: the settings resource (DEFERRAL_* through dg.EnvVar) is never
    # touched by run config; the report month is the run's partition range
    started = time.monotonic()
    run_config = {
        **executor_config,
        "loggers": {"console": {"config": {"log_level": log_level}}},
        "resources": {
            "warehouse": {
                "config": {"data_dir": str(data_dir), "full_validation": full_validation, "recompute_all": full}
            }
        },
    }

    tags = {
        "deferral/data_dir": str(data_dir),
        "deferral/as_of": as_of or "latest",
        **lock_tags,
        **code_location_tags(),
    }
    monthly = None
    unchanged = False  # nothing to compute or publish: the current publication is what a run would make
    problem = ""
    with dg.DagsterInstance.get() as instance:
        hold_connections(instance)
        for stale in mark_killed_runs(instance, data_dir):
            typer.echo(
                f"run {stale.run_id} ({stale.job_name}) had been left STARTED by a killed process: marked failed"
            )

        def execute(job_def, run_tags: dict):
            job_config = with_console_steps(run_config, job_def())
            return dg.execute_job(dg.reconstructable(job_def), instance=instance, run_config=job_config, tags=run_tags)

        ingest = execute(ingest_job_def, tags)
        run_ids = [ingest.run_id]
        if ingest.success:
            first_month, latest = _valid_months(data_dir)
            month = as_of or latest
            if latest is None:
                problem = (
                    f"no accepted contribution rows in {data_dir / 'raw' / 'contributions'}: nothing to compute. "
                    "See quarantine/contributions/ for rejected rows, fix the export and run again."
                )
            elif month > latest or month < first_month:
                problem = (
                    f"--as-of {month} is outside the months this data can report: {first_month} through {latest} "
                    "(the latest accepted contribution period). Nothing was computed or published."
                )
            else:
                warehouse = Warehouse(
                    data_dir=str(data_dir),
                    recompute_all=full,
                    full_validation=full_validation,
                    settings=current_settings(),
                )
                first, monthly_tags = monthly_run_tags(instance, warehouse, month)
                if first is None:
                    unchanged = True
                    typer.echo(
                        f"nothing changed since publication {(data_dir / 'published').resolve().name} (as of "
                        f"{month}, made from the same inputs): report months and publication kept"
                    )
                else:
                    if first > first_month:
                        typer.echo(
                            f"report months {first_month} to {prior(first)}: inputs unchanged since computed, kept"
                        )
                    if executor == "celery":  # the provinces' ranges are their own runs' tags
                        planned = {"deferral/as_of": month, MONTH_INPUTS_TAG: monthly_tags[MONTH_INPUTS_TAG]}
                        monthly = run_provinces_side_by_side(
                            instance, run_config, {**tags, **planned}, first, month, run_ids
                        )
                    else:
                        monthly = execute(monthly_job_def, {**tags, **monthly_tags})
                        run_ids.append(monthly.run_id)
                    if monthly.success:
                        record_planned(warehouse, monthly_tags[MONTH_INPUTS_TAG])
        if problem:
            typer.echo(f"deferral: {problem}", err=True)
        print_summary(instance, run_ids, data_dir, home, time.monotonic() - started)
    return bool(ingest.success and (unchanged or (monthly and monthly.success)))


from pipelines.cli_tools import diff, docs, explain, load_postgres, worker  # noqa: E402 (beside `run`)

app.command()(docs)
app.command()(diff)
app.command()(explain)
app.command(name="load-postgres")(load_postgres)
app.command()(worker)


def main() -> None:
    """The ``deferral`` console script (see :func:`pipelines.teardown.end_after`)."""
    from pipelines.teardown import end_after

    end_after(app)


if __name__ == "__main__":
    main()
