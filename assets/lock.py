"""One writing run per data dir (数据目录写锁).

``<data-dir>/.deferral.lock`` names its holder: an owner token (a Dagster run id, or the token
``deferral run`` passes to its runs as the tag ``deferral/lock``), the pid of the process that
lives as long as the holder, the host and the time. Taking it is atomic (an ``flock`` on a guard
file around read-check-write). A second writer waits up to its limit, then refuses with a message
naming the holder. A lock whose process is gone (same host) or whose Dagster run has finished is
stale and is taken over, with a warning.
"""

import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = ".deferral.lock"


class DataDirBusy(RuntimeError):
    pass


def lock_path(root: Path) -> Path:
    return root / LOCK_NAME


@contextmanager
def _guard(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    with open(root / (LOCK_NAME + ".guard"), "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_holder(root: Path) -> dict | None:
    try:
        return json.loads(lock_path(root).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(holder: dict, run_finished=None) -> bool:
    """Gone: its process has ended (same host), or Dagster says its run has finished."""
    if holder.get("host") == socket.gethostname() and not pid_alive(int(holder.get("pid", 0))):
        return True
    return bool(run_finished and run_finished(holder.get("owner", "")))


def describe(holder: dict) -> str:
    return (
        f"{holder.get('what', 'a run')} {holder.get('owner')} (pid {holder.get('pid')} on {holder.get('host')}, "
        f"since {holder.get('since')})"
    )


def acquire(
    root: Path, owner: str, pid: int, what: str, wait_seconds: float = 0, poll: float = 0.5, run_finished=None, log=None
) -> bool:
    """Take the lock for ``owner``; True if taken now, False if ``owner`` already held it.

    Raises DataDirBusy naming the holder when it is still held after ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with _guard(root):
            holder = read_holder(root)
            if holder and holder.get("owner") == owner:
                return False
            if holder is None or is_stale(holder, run_finished):
                if holder and log:
                    log(f"data dir lock of {describe(holder)} is stale (its process or run has ended): taken over")
                mine = {
                    "owner": owner,
                    "pid": pid,
                    "host": socket.gethostname(),
                    "what": what,
                    "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
                tmp = lock_path(root).with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
                tmp.write_text(json.dumps(mine), encoding="utf-8")
                tmp.replace(lock_path(root))
                return True
        if time.monotonic() >= deadline:
            raise DataDirBusy(
                f"{root} is being written by {describe(holder)}. One run at a time writes a data dir: wait for it "
                f"to finish (or stop it); a lock left by a killed process is taken over automatically."
            )
        time.sleep(poll)


def release(root: Path, owner: str) -> None:
    with _guard(root):
        holder = read_holder(root)
        if holder and holder.get("owner") == owner:
            lock_path(root).unlink(missing_ok=True)
