"""The event log ``deferral run`` configures (pipelines/event_log.py): Dagster's SQLite storage with one
engine per database file, its connection kept between events; what it stores is read at once by
another instance (the webserver's), and a wipe leaves no connection on a deleted file."""

import multiprocessing

import dagster as dg
from sqlalchemy import event

from pipelines.event_log import make_home


def _store(instance: dg.DagsterInstance, count: int) -> None:
    for i in range(count):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=f"table_{i % 5}", metadata={"n": i}))


def _store_in_child(instance: dg.DagsterInstance, queue) -> None:
    # a process forked after the parent stored events, with the parent's storage object: it opens
    # connections of its own (a pooled SQLite connection must not cross a fork)
    _store(instance, 3)
    queue.put("stored")


def test_events_go_through_one_kept_connection_per_database_file_and_are_read_at_once(tmp_path):
    home = make_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        _store(instance, 1)  # the index database's engine is made
        engines = instance.event_log_storage._engines()  # noqa: SLF001
        opened = []
        for engine in engines.values():
            event.listen(engine, "connect", lambda *_: opened.append(1))
        _store(instance, 40)
        # 40 events (each a write to the index database, some more than one) opened no new connection
        assert opened == []
        with dg.DagsterInstance.from_config(str(home)) as reader:  # the webserver's view, another storage
            for i in range(5):
                assert reader.get_latest_materialization_event(dg.AssetKey(f"table_{i}")) is not None
            assert reader.fetch_materializations(dg.AssetKey("table_0"), limit=100).records[0].event_log_entry

        queue = multiprocessing.get_context("fork").Queue()
        child = multiprocessing.get_context("fork").Process(target=_store_in_child, args=(instance, queue))
        child.start()
        child.join(60)
        assert child.exitcode == 0 and queue.get(timeout=5) == "stored"
        assert len(instance.fetch_materializations(dg.AssetKey("table_0"), limit=100).records) == 1 + 8 + 1

        instance.event_log_storage.wipe()  # run files deleted: the kept connections are closed first
        assert instance.fetch_materializations(dg.AssetKey("table_0"), limit=100).records == []
        _store(instance, 5)
        assert len(instance.fetch_materializations(dg.AssetKey("table_0"), limit=100).records) == 1
