"""Dagster's SQLite event log, with one SQLAlchemy engine per database file for the process's life
and its connection kept between events.

Dagster's ``SqliteEventLogStorage`` creates an engine for every connection it opens, and it opens one
(or two: the run's database and the index) for every event it stores; a new engine starts with an
empty compiled-statement cache, so every event's INSERT was compiled again, and every connection
opened the file and its WAL index again. A run writes an event per step start, output and success,
per partition materialized and per check: ~850 events for the sample. Holding the engine keeps the
cache (5 -> 3 ms an event in memory); keeping its connection in SQLAlchemy's pool as well, 6.4 -> 2.2
ms an asset event on disk. A forked process makes its own engines; ``wipe`` and ``dispose`` close the
kept connections. ``deferral run`` configures it in the ``dagster.yaml`` it writes for a new
DAGSTER_HOME (pipelines/cli.py); an existing ``dagster.yaml`` is the operator's own and is left as it
is. docs/architecture.md, "Events cost time on SQLite".
Dagster 事件日志（SQLite）：每个数据库文件一个 SQLAlchemy 引擎并保持其连接，编译缓存得以复用。
"""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine


class HeldEngineSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose engine for each database file (shard) is made once a process,
    its connection kept open between uses (SQLAlchemy's pool)."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):  # the parent's names its own class
        return cls(inst_data=inst_data, **config_value)

    def _engines(self) -> dict[str, Engine]:
        """This process's engines by shard (a forked process makes its own: a pooled SQLite connection
        must not cross a fork)."""
        pid, engines = self.__dict__.get("_held", (None, {}))
        if pid != os.getpid():
            engines = {}
            self.__dict__["_held"] = (os.getpid(), engines)
        return engines

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engines = self._engines()
            if shard not in engines:
                engines[shard] = create_engine(
                    self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
                )
            engine = engines[shard]
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def _release(self) -> None:
        """Closes the kept connections (before their files go, and when the instance is disposed)."""
        with self._db_lock:
            for engine in self._engines().values():
                engine.dispose()
            self._engines().clear()

    def wipe(self) -> None:
        self._release()
        super().wipe()

    def dispose(self) -> None:
        self._release()
        super().dispose()


def make_home(home: Path) -> Path:
    """The DAGSTER_HOME ``deferral run`` uses (resolved), made if missing. A new one gets a ``dagster.yaml``:
    no telemetry, no sign-up pop-up (offline deployments), and this event log where Dagster's own would
    keep its databases; an existing ``dagster.yaml`` is the operator's own and is left as it is."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
            f"event_log_storage:\n  module: {__name__}\n  class: {HeldEngineSqliteEventLogStorage.__name__}\n"
            f"  config:\n    base_dir: {json.dumps(str(home / 'history' / 'runs'))}\n",
            encoding="utf-8",
        )
    return home
