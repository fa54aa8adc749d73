"""A Redis broker and `deferral worker` processes on this machine, for the Celery test and
bench/scale_out.py: started in their own process groups, stopped by process id."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(port: int) -> subprocess.Popen:
    """Debian's redis-server on 127.0.0.1:``port``, in memory only."""
    return subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_worker(name: str, env: dict, log: Path, *extra: str) -> subprocess.Popen:
    """``deferral worker --name name`` with ``env`` (its broker in DEFERRAL_CELERY_BROKER), output to ``log``."""
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", "worker", "--name", name, *extra],
            env=env,
            cwd=Path(__file__).parent.parent,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM to the process group (a worker's pool children with it), SIGKILL if it lingers."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
