"""The scale guard (bench/scale_guard.py) in the suite: city data (3 million contribution rows a
province) with the default memory ceiling must run to exit 0, account for every raw row and stay
under 4 GB peak RSS. It runs first, in one test process, beside the rest of the suite (the suite's
two processes leave a core idle part of the time); its figures (wall time, peak RSS, the accounting
per table) are written to ``bench/results/scale_guard.txt``, which ``.ci/run`` prints.
``-m "not scale"`` leaves it out of a quick local run."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "bench" / "results" / "scale_guard.txt"


@pytest.mark.scale
def test_city_data_runs_to_exit_0_within_the_memory_ceiling_and_every_row_is_accounted_for():
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale_guard.py"), "--scale", "city", "--seed", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=1800,
    )
    REPORT.write_text(result.stdout + result.stderr, encoding="utf-8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scale guard passed: city run exit 0" in result.stdout
