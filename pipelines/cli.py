"""The ``deferral`` command: generate synthetic data, run the pipeline through Dagster."""

import os
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, help="阶段性缓缴职工医保单位缴费 — deferral pipeline.")


@app.command()
def generate(
    data_dir: Annotated[Path, typer.Option(help="Where raw/ is written.")],
    scale: Annotated[str, typer.Option(help="tiny | city | province")] = "tiny",
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = 1,
) -> None:
    """Write synthetic raw tables for both policy profiles, and a manifest of what was planted."""
    from pipelines.synthetic.generate import generate as run_generate

    manifest = run_generate(data_dir, scale, seed)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    typer.echo(f"wrote {rows:,} rows in 9 tables to {data_dir / 'raw'} (manifest: raw/manifest.json)")


@app.command()
def run(
    data_dir: Annotated[Path, typer.Option(help="Data dir holding raw/.")],
    as_of: Annotated[Optional[str], typer.Option(help="Report month YYYY-MM; default: latest contribution period.")] = None,
    executor: Annotated[str, typer.Option(help="in_process | multiprocess")] = "in_process",
    log_level: Annotated[str, typer.Option(help="Dagster console log level: INFO shows progress, DEBUG every event.")] = "INFO",
) -> None:
    """Materialize every asset through Dagster; runs and checks show in the UI afterwards."""
    if as_of is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", as_of):
        raise typer.BadParameter("--as-of must be YYYY-MM")
    if executor not in ("in_process", "multiprocess"):
        raise typer.BadParameter("--executor must be in_process or multiprocess")
    data_dir = data_dir.resolve()
    if not (data_dir / "raw").is_dir():
        raise typer.BadParameter(f"{data_dir / 'raw'} does not exist (try `deferral generate`)")
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / ".dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():  # offline deployments: no telemetry, no sign-up pop-up
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n", encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)

    import dagster as dg

    from pipelines.definitions import ingest_job_def, monthly_job_def
    from pipelines.jobs import IN_PROCESS, MULTIPROCESS, range_tags
    from pipelines.partitions import first_report_month
    from pipelines.summary import latest_contribution_period, print_summary

    executor_config = IN_PROCESS if executor == "in_process" else MULTIPROCESS

    def run_config(month: str = "") -> dict:
        # the data dir and report month travel in the run's config: the UI shows them per run
        return {**executor_config, "loggers": {"console": {"config": {"log_level": log_level}}},
                "resources": {"warehouse": {"config": {"data_dir": str(data_dir), "as_of": month}}}}

    tags = {"deferral/data_dir": str(data_dir), "deferral/as_of": as_of or "latest"}
    monthly = None
    with dg.DagsterInstance.get() as instance:
        ingest = dg.execute_job(dg.reconstructable(ingest_job_def), instance=instance, run_config=run_config(), tags=tags)
        run_ids = [ingest.run_id]
        if ingest.success:
            month = as_of or latest_contribution_period(data_dir)
            monthly = dg.execute_job(
                dg.reconstructable(monthly_job_def), instance=instance, run_config=run_config(month),
                tags={**tags, "deferral/as_of": month, **range_tags(first_report_month(), month)})
            run_ids.append(monthly.run_id)
        print_summary(instance, run_ids, data_dir)
    typer.echo(f"Dagster home: {home}  (open the UI: DAGSTER_HOME={home} dagster dev -w workspace.yaml)")
    if not (ingest.success and monthly and monthly.success):
        sys.exit(1)


if __name__ == "__main__":
    app()
