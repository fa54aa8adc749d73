"""A PostgreSQL server on this machine, for the database tests and bench/postgres_ingest.py: Debian's
binaries, a cluster in a temporary directory, 127.0.0.1 on a free port, password authentication;
started by its caller and stopped by the postmaster's pid. initdb refuses to run as root, so under
root the server runs as the ``postgres`` user the package creates."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.local_cluster import free_port

USER, PASSWORD, DB = "deferral", "s3cret-test", "postgres"


def binary(name: str) -> str | None:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]), None)
    return found


@dataclass
class Server:
    folder: Path
    port: int
    pid: int

    def uri(self, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{DB}"

    def stop(self) -> None:
        """Fast shutdown by the postmaster's pid; waits until it is gone."""
        try:
            os.kill(self.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        for _ in range(100):
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(self.pid, signal.SIGKILL)
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start() -> Server:
    """A new cluster in a folder of its own under the system's temporary directory (the ``postgres``
    user must reach it: pytest's temporary folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="deferral-pg-"))
    data, pwfile = folder / "data", folder / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (folder, pwfile):
            shutil.chown(path, "postgres", "postgres")
    subprocess.run(
        _as_owner(
            [binary("initdb"), "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "-A", "scram-sha-256", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_owner([binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]),
        check=True,
        capture_output=True,
    )
    pid = int((data / "postmaster.pid").read_text().splitlines()[0])
    return Server(folder, port, pid)
