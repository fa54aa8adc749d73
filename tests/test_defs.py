"""The code location as Dagster loads it, and its shape guarded by a snapshot (like dagster-open-platform's
test_defs.py): adding or dropping an asset, check, dependency, partition, job, schedule or sensor shows up
as a snapshot diff in review. Update deliberately with `pytest tests/test_defs.py --snapshot-update`."""

import dagster as dg

from pipelines.definitions import build_defs, defs


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    repo = build_defs().get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {"ingest_job", "monthly_job", "deferral_job"}


def _graph() -> dict:
    repo = build_defs().get_repository_def()
    graph = repo.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        partitions = node.partitions_def
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "kinds": sorted(node.kinds),
            "owners": list(node.owners),
            "partitions": type(partitions).__name__ if partitions else None,
            # dynamic dimensions, by name: provinces and months added as profiles and data arrive
            "partitions_name": (
                [f"{d.name}:{d.partitions_def.name}" for d in partitions.partitions_defs]
                if isinstance(partitions, dg.MultiPartitionsDefinition)
                else getattr(partitions, "name", None)
            ),
            "checks": sorted(c.name for c in node.check_keys),
            "blocking_checks": sorted(c.name for c in node.check_keys if graph.get_check_spec(c).blocking),
            "has_description": bool(node.description),
        }
    return {
        "assets": assets,
        "jobs": {
            j.name: sorted(k.to_user_string() for k in j.asset_layer.selected_asset_keys)
            for j in sorted(repo.get_all_jobs(), key=lambda j: j.name)
            if not j.name.startswith("__")
        },
        "schedules": {
            s.name: {"cron": s.cron_schedule, "job": s.job_name, "timezone": s.execution_timezone}
            for s in repo.schedule_defs
        },
        "sensors": {s.name: {"jobs": sorted(t.job_name for t in s.targets)} for s in repo.sensor_defs},
        "resources": sorted(repo.get_top_level_resources()),
    }


def test_graph_shape_matches_the_snapshot(snapshot):
    assert _graph() == snapshot
