"""Benchmark: four provinces at city scale, in-process and on 1 and 2 Celery workers.

    .venv/bin/python bench/scale_out.py [--data-dir /tmp/bench-city4] [--seed 7] [--skip-generate]
                                        [--skip-in-process] [--as-of YYYY-MM] [--compare-with DIR]

Generates ``--scale city4`` (the two profiles' city regions and the two example profiles', about
20,000 units per province) with ``DEFERRAL_PROFILES_DIR`` naming both profile folders, then runs
``deferral run`` three times on fresh copies of raw/: in-process (the reference: one process, no
broker), and ``--executor celery`` with one and with two ``deferral worker`` processes (one step
at a time each) on a Redis server started here on a free port. Printed, never asserted: wall
time and peak RSS of the launcher, the workers' peak RSS (VmHWM of their processes), each stage's
run time from Dagster's run records, the speed-up of two workers over one, and whether each
publication equals the in-process one byte for byte (and, with ``--compare-with``, an earlier
run's). On a 2-core machine the ceiling is 2x; DuckDB steps already use both cores, so expect less.

city4 writes each province's contributions under raw/contributions/<province_code>/, so ingest
runs one step per province.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from benchmark import BIN, timed  # noqa: E402

from pipelines.local_cluster import free_port, start_broker, start_worker, stop  # noqa: E402

ROOT = Path(__file__).parent.parent
PROFILES = os.pathsep.join(str(ROOT / "assets" / "policy" / "profiles" / d) for d in ("", "examples"))

STAGES = """
import dagster as dg
with dg.DagsterInstance.get() as instance:
    records = sorted(instance.get_run_records(), key=lambda r: r.start_time or 0)
    for r in records:
        tag = r.dagster_run.tags.get("deferral/province", "")
        print(f"    {r.dagster_run.job_name:13} {tag:14} {r.end_time - r.start_time:7.1f} s")
"""


def _peak_rss_gb(group: int) -> float:
    """The largest VmHWM (peak resident set) among the processes of process group ``group``."""
    peak = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) != group:
                continue
            for line in (stat.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return peak / 1024**2


def run_once(label: str, raw: Path, work: Path, env: dict, workers: int, extra: list[str]) -> float:
    data_dir = work / label.replace(" ", "_")
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(raw, data_dir / "raw")
    env = {**env, "DAGSTER_HOME": str(data_dir / ".dagster")}
    started = []
    try:
        if workers:
            port = free_port()
            env["DEFERRAL_CELERY_BROKER"] = f"redis://127.0.0.1:{port}/0"
            started.append(start_broker(port))
            for i in range(workers):
                started.append(
                    start_worker(f"bench{i}-{port}@%h", env, data_dir / f"worker{i}.log", "--log-level", "WARNING")
                )
            time.sleep(5)  # the workers connect before the first step is sent
        executor = ["--executor", "celery"] if workers else []
        seconds, _ = timed(label, [str(BIN / "deferral"), "run", "--data-dir", str(data_dir), *executor, *extra], env)
        for i, worker in enumerate(started[1:]):
            print(f"    worker {i + 1} peak RSS {_peak_rss_gb(worker.pid):.2f} GB")
        if workers:
            import redis

            info = redis.Redis(host="127.0.0.1", port=port).info()
            print(
                f"    broker: {info['total_commands_processed']:,} commands, peak memory "
                f"{info['used_memory_peak_human']}"
            )
    finally:
        for process in reversed(started):
            stop(process)
    subprocess.run([str(BIN / "python"), "-c", STAGES], env=env, check=True)
    sizes = {
        part: sum(f.stat().st_size for f in (data_dir / part).rglob("*") if f.is_file()) / 1024**2
        for part in ("raw", "warehouse/clean", "warehouse/policy", "published", ".dagster")
    }
    print("    disk MB: " + ", ".join(f"{k} {v:,.0f}" for k, v in sizes.items()))
    return seconds


def published(data_dir: Path) -> dict[str, bytes]:
    """Every published file by its path under ``published/`` (the manifest without its run id)."""
    root = (data_dir / "published").resolve()
    files = {str(f.relative_to(root)): f.read_bytes() for f in sorted(root.rglob("*")) if f.is_file()}
    if "PUBLICATION.json" in files:
        manifest = json.loads(files["PUBLICATION.json"])
        manifest.pop("run_id", None)
        files["PUBLICATION.json"] = json.dumps(manifest, sort_keys=True).encode()
    return files


def compare(label: str, reference: Path, other: Path) -> None:
    """Prints whether ``other``'s publication is byte for byte ``reference``'s."""
    expected, found = published(reference), published(other)
    differing = sorted(n for n in expected.keys() | found.keys() if expected.get(n) != found.get(n))
    print(
        f"    {label}: {len(expected)} published files, "
        + ("byte-identical" if not differing else f"{len(differing)} differ: {differing[:5]}")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/bench-city4"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument("--skip-in-process", action="store_true", help="only the Celery runs")
    parser.add_argument("--as-of", default=None, help="report month YYYY-MM (default: the latest)")
    parser.add_argument(
        "--compare-with",
        type=Path,
        default=None,
        help="a data dir (or its published/ folder's parent) of an earlier run on the same data to "
        "compare the in-process publication with, byte for byte",
    )
    args = parser.parse_args()
    if shutil.which("redis-server") is None:
        sys.exit("redis-server not found: install Debian's redis-server (as .ci/run does)")
    env = {**os.environ, "DEFERRAL_PROFILES_DIR": PROFILES}
    source = args.data_dir / "source"
    if not args.skip_generate:
        timed(
            "generate city4",
            [
                str(BIN / "deferral"),
                "generate",
                "--data-dir",
                str(source),
                "--scale",
                "city4",
                "--seed",
                str(args.seed),
                "--force",
            ],
            env,
        )
    extra = ["--as-of", args.as_of] if args.as_of else []
    in_process = None if args.skip_in_process else run_once("in-process", source / "raw", args.data_dir, env, 0, extra)
    one = run_once("celery 1 worker", source / "raw", args.data_dir, env, 1, extra)
    two = run_once("celery 2 workers", source / "raw", args.data_dir, env, 2, extra)
    print(
        f"speed-up of 2 workers over 1: {one / two:.2f}x"
        + (f"; 1 worker vs in-process: {one / in_process:.2f}x" if in_process else "")
    )
    if in_process:
        for label in ("celery_1_worker", "celery_2_workers"):
            compare(f"{label} against in-process", args.data_dir / "in-process", args.data_dir / label)
        if args.compare_with:
            compare(f"in-process against {args.compare_with}", args.compare_with, args.data_dir / "in-process")


if __name__ == "__main__":
    main()
