"""Scale guard (run by .ci/run): the pipeline must complete at the users' size, not only on the sample.

    .venv/bin/python bench/scale_guard.py [--scale city] [--seed 1] [--data-dir DIR] [--max-rss-gb 4]

Generates the data (``deferral generate``), runs ``deferral run`` with the deployment's defaults
(``DEFERRAL_DUCKDB_MEMORY`` unset: the 2GB ceiling) under ``/usr/bin/time -v``, and fails (exit 1,
one line saying why) unless:

- the run exits 0;
- every raw table is accounted for: the records in its raw files, counted here from the files
  themselves (python's csv module and the Parquet footers, not DuckDB's reader) = accepted +
  quarantined + exact duplicates, and every ``rows_accounted_for`` check of the run passed;
- the run's peak RSS (the largest process) stays under ``--max-rss-gb``.

It prints the wall time and peak RSS of the generator and of the run.
"""

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

BIN = Path(sys.executable).parent
TABLES = (
    "units",
    "sme_classifications",
    "fund_reserves",
    "contributions",
    "tax_payments",
    "tax_deferral_register",
    "commitments",
    "elections",
    "employee_events",
)


def timed(label: str, command: list[str], env: dict) -> tuple[int, float, float, str]:
    """(exit status, wall seconds, peak RSS in GB, output) of ``command`` under /usr/bin/time -v."""
    out = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", out.stderr).group(1)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss_gb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024**2
    print(f"{label:40} exit {out.returncode}   wall {seconds:7.1f} s   peak RSS {rss_gb:5.2f} GB", flush=True)
    return out.returncode, seconds, rss_gb, out.stdout + out.stderr


def records_in(path: Path) -> int:
    """Data records of a raw file: the Parquet footer, or csv's reader (UTF-8 or GB18030, header excluded)."""
    if path.suffix.lower() == ".parquet":
        return pq.ParquetFile(path).metadata.num_rows
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return sum(1 for row in csv.reader(fh) if row) - 1
    except UnicodeDecodeError:
        with open(path, encoding="gb18030", newline="") as fh:
            return sum(1 for row in csv.reader(fh) if row) - 1


def rows_in(pattern: Path) -> int:
    return sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(pattern.parent.glob(pattern.name)))


def accounting_problems(data: Path) -> list[str]:
    """Tables whose raw records differ from accepted + quarantined + exact duplicates."""
    problems = []
    for table in TABLES:
        raw = sum(
            records_in(p)
            for p in sorted((data / "raw" / table).rglob("*"))
            if p.is_file() and p.suffix.lower() in (".csv", ".parquet")
        )
        clean = data / "warehouse" / "clean" / table  # a file per input; a folder per province when by province
        by_province = any(p.is_dir() for p in clean.glob("*"))
        accepted = sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(clean.rglob("*.parquet")))
        duplicates = rows_in(
            data / "warehouse" / "duplicates" / (f"{table}/*.parquet" if by_province else f"{table}.parquet")
        )
        quarantined = rows_in(data / "quarantine" / table / "*.parquet")
        print(
            f"  {table:24} raw {raw:>11,} = accepted {accepted:>11,} + quarantined {quarantined:>6,} "
            f"+ duplicates {duplicates:>4,}{'' if raw == accepted + quarantined + duplicates else '   <-- differs'}"
        )
        if raw != accepted + quarantined + duplicates:
            problems.append(f"{table}: {raw:,} raw records, {accepted + quarantined + duplicates:,} accounted for")
    return problems


def failed_accounting_checks(home: Path) -> list[str]:
    """``rows_accounted_for`` evaluations of the data dir's runs that did not pass (or none at all)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_job"), limit=1)
        if not run:
            return ["no ingest run recorded"]
        records = instance.get_records_for_run(
            run[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        evaluations = [r.event_log_entry.dagster_event.event_specific_data for r in records]
    accounting = [e for e in evaluations if e.check_name == "rows_accounted_for"]
    bad = [e.asset_key.to_user_string() for e in accounting if not e.passed]
    return bad + (
        [f"only {len(accounting)} rows_accounted_for checks ran, {len(TABLES)} expected"]
        if len(accounting) != len(TABLES)
        else []
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="city")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, help="default: a temporary folder, removed afterwards")
    parser.add_argument("--max-rss-gb", type=float, default=4.0)
    args = parser.parse_args()
    data = (args.data_dir or Path(tempfile.mkdtemp(prefix=f"scale-guard-{args.scale}-"))).resolve()
    # the deployment's defaults: no memory or thread override, no development shortcuts
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFERRAL_")}
    env.update(DAGSTER_HOME=str(data / ".dagster"), DEFERRAL_PII_KEY="scale-guard")
    deferral = str(BIN / "deferral")
    print(f"scale guard: --scale {args.scale} --seed {args.seed} in {data}, DuckDB memory ceiling at its default")
    problems = []
    rc, *_ = timed(
        f"generate --scale {args.scale}",
        [deferral, "generate", "--data-dir", str(data), "--scale", args.scale, "--seed", str(args.seed), "--force"],
        env,
    )
    if rc:
        sys.exit(f"scale guard FAILED: deferral generate exited {rc}")
    rc, seconds, rss, output = timed(
        "deferral run", [deferral, "run", "--data-dir", str(data), "--log-level", "WARNING"], env
    )
    if rc:
        failed = [line.strip() for line in output.splitlines() if "FAILED step" in line or line.startswith("deferral:")]
        problems.append(f"deferral run exited {rc}: {failed[0] if failed else output.strip().splitlines()[-1]}")
    problems += accounting_problems(data)
    problems += [f"check rows_accounted_for failed: {c}" for c in failed_accounting_checks(data / ".dagster")]
    if rss >= args.max_rss_gb:
        problems.append(f"peak RSS {rss:.2f} GB is over {args.max_rss_gb} GB")
    if args.data_dir is None:
        shutil.rmtree(data, ignore_errors=True)
    if problems:
        sys.exit("scale guard FAILED: " + "; ".join(problems))
    print(
        f"scale guard passed: {args.scale} run exit 0 in {seconds:.1f} s, peak RSS {rss:.2f} GB, every table "
        f"accounted for"
    )


if __name__ == "__main__":
    main()
