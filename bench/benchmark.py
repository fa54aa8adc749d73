"""Benchmarks: wall time and peak RSS of generate, a full run, and a single-month run.

    .venv/bin/python bench/benchmark.py --scale city [--data-dir /tmp/bench-city] [--seed 7]

Each step runs in its own process under /usr/bin/time -v; figures are printed, never asserted.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent

SINGLE_MONTH = """
import os, dagster as dg
from pipelines.definitions import monthly_job_def
from pipelines.summary import latest_contribution_period
from pipelines.jobs import IN_PROCESS
data = os.environ["BENCH_DATA_DIR"]
month = latest_contribution_period(__import__("pathlib").Path(data))
with dg.DagsterInstance.get() as instance:
    result = dg.execute_job(dg.reconstructable(monthly_job_def), instance=instance,
        run_config={**IN_PROCESS, "resources": {"warehouse": {"config": {"data_dir": data}}}},
        tags={"dagster/partition": month})
    assert result.success
"""


def timed(label: str, command: list[str], env: dict | None = None) -> tuple[float, float]:
    out = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"{label} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (.+)", out.stderr).group(1)
    parts = [float(p) for p in wall.split(":")]
    seconds = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss_gb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", out.stderr).group(1)) / 1024 ** 2
    print(f"{label:32} wall {seconds:8.1f} s   peak RSS {rss_gb:6.2f} GB", flush=True)
    return seconds, rss_gb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", default="city", choices=["tiny", "city", "province"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix=f"bench-{args.scale}-"))
    import os

    env = {**os.environ, "DAGSTER_HOME": str(data / ".dagster"), "BENCH_DATA_DIR": str(data)}
    print(f"scale {args.scale}, data dir {data}")
    timed(f"generate {args.scale}", [str(BIN / "deferral"), "generate", "--data-dir", str(data),
                                     "--scale", args.scale, "--seed", str(args.seed), "--force"], env)  # its own data: rerunnable
    timed(f"full run {args.scale}", [str(BIN / "deferral"), "run", "--data-dir", str(data), "--log-level", "WARNING"], env)
    timed(f"single-month run {args.scale}", [sys.executable, "-c", SINGLE_MONTH], env)


if __name__ == "__main__":
    main()
