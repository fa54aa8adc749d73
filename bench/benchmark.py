"""Benchmark: the pipeline against a floor, and monthly operation, at a generated scale, on this machine.

    .venv/bin/python bench/benchmark.py --scale city [--data-dir /tmp/bench-city] [--seed 1]
    .venv/bin/python bench/benchmark.py --scale province --seed 1 --data-dir /data/bench-province

Each command runs in its own process under /usr/bin/time -v (wall time, peak RSS of the largest
process: every run here is in-process, one Python process). Printed side by side, never asserted,
all on the data as monthly exports (``deferral generate --through``):

- ``previous month``: the exports through the month before the latest, run from an empty data dir
  (what a bureau had);
- ``new month``: the latest month's exports added, run (only what changed is computed);
- ``unchanged rerun``: the same command again, nothing changed;
- ``full run``: ``deferral run --full`` on the same files (every table ingested, every month computed);
- ``floor``: bench/floor.sql, the unavoidable work as one DuckDB script (read every raw
  contribution row once, unit x period x component sums, per-person sums of persons with events,
  write Parquet), with the pipeline's own memory and thread settings;
then each run's share of the full run, the full run's slowest steps and its ratio to the floor, and
its CPU seconds over the machine's cores: the least wall time that work can take here (each line also
prints its command's CPU seconds).
``--full-only``: the floor and the full run on the generator's default layout (``--skip-generate``
reuses the raw/ already there). The benchmark starts with a new DAGSTER_HOME (``<data-dir>/.dagster``,
its ``dagster.yaml`` as ``deferral run`` writes it); the measures after the first keep its history, as a
deployment does (a new month's run targets the report months that changed). Every command runs with the
deployment's defaults unless the environment sets ``DEFERRAL_*`` (``DEFERRAL_DUCKDB_MEMORY`` is printed).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

BIN = Path(sys.executable).parent
HERE = Path(__file__).parent

FLOOR = """
import os, string, duckdb
from assets.settings import Settings
from pathlib import Path
raw = Path(os.environ["BENCH_DATA_DIR"]) / "raw"
files = sorted((raw / "contributions").rglob("*"))
csv = [str(p) for p in files if p.suffix == ".csv"]
parquet = [str(p) for p in files if p.suffix == ".parquet"]
parts = ([f"SELECT * FROM read_csv({csv}, all_varchar = true, header = true, ignore_errors = true)"] if csv else [])
parts += [f"SELECT * FROM read_parquet({parquet})"] if parquet else []
sql = string.Template(open(os.environ["BENCH_FLOOR_SQL"], encoding="utf-8").read()).substitute(
    raw=str(raw), out=os.environ["BENCH_FLOOR_OUT"], contributions=" UNION ALL BY NAME ".join(parts))
default = lambda field: Settings.model_fields[field].default  # noqa: E731  the pipeline's own defaults
con = duckdb.connect(config={"memory_limit": os.environ.get("DEFERRAL_DUCKDB_MEMORY", default("duckdb_memory")),
                             "threads": int(os.environ.get("DEFERRAL_DUCKDB_THREADS", default("duckdb_threads"))),
                             "temp_directory": os.environ["BENCH_FLOOR_OUT"] + "/_spill"})
for statement in duckdb.extract_statements(sql):
    con.execute(statement.query)
"""

STEPS = """
import dagster as dg
with dg.DagsterInstance.get() as instance:
    for run in reversed(instance.get_runs(limit=2)):
        stats = sorted(instance.get_run_step_stats(run.run_id), key=lambda s: s.start_time - s.end_time)
        total = max(s.end_time for s in stats) - min(s.start_time for s in stats)
        print(f"    {run.job_name} (steps {total:.1f} s): "
              + ", ".join(f"{s.step_key} {s.end_time - s.start_time:.1f} s" for s in stats[:8]))
"""


class Measure(NamedTuple):
    wall: float  # seconds
    rss_gb: float  # peak RSS of the largest process
    cpu: float  # user + system seconds of the command and the children it waited for (the workbook writers)


def timed(label: str, command: list[str], env: dict) -> Measure:
    out = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{label} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", out.stderr).group(1)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.split(":"))))
    rss_gb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024**2
    cpu = sum(
        float(re.search(rf"{kind} time \(seconds\): ([0-9.]+)", out.stderr).group(1)) for kind in ("User", "System")
    )
    print(f"{label:34} wall {seconds:8.1f} s   peak RSS {rss_gb:6.2f} GB   CPU {cpu:8.1f} s", flush=True)
    return Measure(seconds, rss_gb, cpu)


def cores_bound(full: Measure) -> None:
    """The least wall time the full run's work could take on this machine's cores, all busy (its CPU
    seconds shared out): a run can come nearer to it, not below it, without doing less work."""
    cores = os.cpu_count() or 1
    print(f"{f'  full run CPU / {cores} cores':34} {full.cpu / cores:8.1f} s   (busy {full.cpu / full.wall:.2f} cores)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=["tiny", "city", "province"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--skip-generate", action="store_true", help="reuse the raw/ already in --data-dir")
    parser.add_argument(
        "--full-only", action="store_true", help="only the floor and the full run on the default layout"
    )
    args = parser.parse_args()
    data = (args.data_dir or Path(tempfile.mkdtemp(prefix=f"bench-{args.scale}-"))).resolve()
    floor_out = data / "bench_floor"
    floor_out.mkdir(parents=True, exist_ok=True)
    # every measure starts from what a new deployment has: no Dagster history (its dagster.yaml as
    # `deferral run` writes it) and, for monthly operation, nothing computed before the first month
    leftovers = [".dagster"] + ([] if args.full_only else [*OUTPUTS])
    for path in [data / name for name in leftovers]:
        if path.is_symlink():  # published/ points into publications/
            path.unlink()
        else:
            shutil.rmtree(path, ignore_errors=True)
    env = {
        **os.environ,
        "DAGSTER_HOME": str(data / ".dagster"),
        "BENCH_DATA_DIR": str(data),
        "BENCH_FLOOR_SQL": str(HERE / "floor.sql"),
        "BENCH_FLOOR_OUT": str(floor_out),
    }
    deferral = str(BIN / "deferral")
    print(
        f"scale {args.scale}, data dir {data}, "
        f"DEFERRAL_DUCKDB_MEMORY={os.environ.get('DEFERRAL_DUCKDB_MEMORY', 'default')}"
    )
    run = [deferral, "run", "--data-dir", str(data), "--log-level", "WARNING"]
    generate = [deferral, "generate", "--data-dir", str(data), "--scale", args.scale, "--seed", str(args.seed)]
    if args.full_only:
        if not args.skip_generate:
            timed(f"generate {args.scale}", [*generate, "--force"], env)
        floor = timed("floor (bench/floor.sql)", [sys.executable, "-c", FLOOR], env)
        # --full: every table ingested and every month computed again, also on a data dir an earlier
        # run left (--skip-generate), where a plain run would keep what is unchanged
        full = timed("full run (--full)", [*run, "--full"], env)
        subprocess.run([sys.executable, "-c", STEPS], env=env, check=True)
        print(f"{'  ratio full run / floor':34} {full.wall / floor.wall:8.1f} x")
        cores_bound(full)
        return
    sys.path.insert(0, str(HERE.parent))
    from assets.months import prior

    latest = LATEST_MONTH
    timed(f"generate --through {prior(latest)}", [*generate, "--force", "--through", prior(latest)], env)
    timed(f"previous month (through {prior(latest)})", run, env)
    timed(f"generate --through {latest}", [*generate, "--through", latest], env)
    new = timed(f"new month ({latest})", run, env)
    unchanged = timed("unchanged rerun", run, env)
    full = timed("full run (--full)", [*run, "--full"], env)
    subprocess.run([sys.executable, "-c", STEPS], env=env, check=True)
    floor = timed("floor (bench/floor.sql)", [sys.executable, "-c", FLOOR], env)
    print(f"{'  new month / full run':34} {100 * new.wall / full.wall:8.0f} %")
    print(f"{'  unchanged rerun / full run':34} {100 * unchanged.wall / full.wall:8.0f} %")
    print(f"{'  full run / floor':34} {full.wall / floor.wall:8.1f} x")
    cores_bound(full)


# what runs write into a data dir (raw/ is the generator's)
OUTPUTS = ("warehouse", "quarantine", "published", "publications", "data_docs")

# the generator's last month of contributions (pipelines/synthetic: periods through 2023-07)
LATEST_MONTH = "2023-07"


if __name__ == "__main__":
    main()
