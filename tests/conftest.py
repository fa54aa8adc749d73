import csv
import os
from pathlib import Path

import pytest

from assets.contracts import RAW_TABLES
from assets.resources import warehouse_resource
from assets.settings import settings_from_environment

# Valid identifiers: the SPEC's own examples and codes whose check characters were worked by hand.
USCC_A = "91340100123456788L"  # SPEC section 2 example
PERSON_A = "11010519491231002X"  # SPEC section 2 example


def pytest_configure(config):
    """Test data dirs in memory where Linux offers /dev/shm: every sample run writes Dagster's SQLite
    event log event by event, and on CI's disk those syncs were a sixth of a run. The folder is fixed
    (a later session clears it) and only the controller picks it; pytest-xdist's workers get theirs
    below it. ``--basetemp`` on the command line wins."""
    shm = Path("/dev/shm")
    if config.option.basetemp or hasattr(config, "workerinput") or not (shm.is_dir() and os.access(shm, os.W_OK)):
        return
    config.option.basetemp = str(shm / f"deferral-tests-{os.getuid()}")


# The groups by their length on CI's two cores (`--durations=0`), longest first: started early, the
# short ones fill in around them instead of two long ones running last side by side (pytest-xdist
# would order groups by their number of tests instead: `--no-loadscope-reorder` in pyproject.toml).
LONGEST_FIRST = [
    "tests/test_incremental.py",
    "keyed_run",
    "tests/test_ui.py",
    "tests/test_trust_runs.py",
    "tests/test_postgres.py",
    "tests/test_scale_out.py",
    "tests/test_ingest_rules.py",
    "statistics_published",
    "tests/test_trust_settings.py",
    "tests/test_trust_inputs.py",
    "obligations_published",
    "tests/test_cli.py",
    "tests/test_collection.py",
    "tests/test_operation.py",
]


# Session runs that several modules only read (a test that changes one works on a copy): each is made once.
SHARED_RUNS = ("keyed_run", "obligations_published", "statistics_published")


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    """pytest-xdist groups (``--dist=loadgroup``): a test module stays in one process with its module
    fixtures, and every test of one of the session's shared runs (``SHARED_RUNS``) joins that run's
    group, so the run is made once, not once per process."""
    groups = {}
    for item in items:
        shared = [name for name in SHARED_RUNS if name in getattr(item, "fixturenames", ())]
        group = shared[0] if shared else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item] = group
    # the longest groups first (a minute or more each): started early, the short ones fill in around them
    # instead of two long ones running last side by side
    rank = {group: n for n, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(groups[item], len(rank)))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "raw").mkdir()
    return tmp_path


@pytest.fixture
def warehouse(data_dir: Path):
    """The warehouse on a test's data dir, without GX Data Docs (about 1 s an ingest; checked in
    tests/test_materialize_sample.py)."""
    return warehouse_resource(str(data_dir), settings=settings_from_environment(gx_data_docs=0))


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """The committed tiny sample, copied so a run writes only under tmp_path."""
    from tests.trust import copy_sample

    return copy_sample(tmp_path)


def write_table(
    data_dir: Path,
    table: str,
    rows: list[dict],
    name: str = "part.csv",
    encoding: str = "utf-8",
    columns: list[str] | None = None,
) -> Path:
    columns = columns or list(RAW_TABLES[table].columns)
    folder = data_dir / "raw" / table
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


@pytest.fixture(scope="session")
def keyed_run(tmp_path_factory):
    """The sample run once through `deferral run --full-validation` with a configured key: the PII tests,
    what people read (tests/test_readable.py) and the planted discrepancies (tests/test_cli.py). GX's sample
    is set to 1,000 rows, so judging every row is the flag's doing; Data Docs are built (scanned for person
    ids); the default threads (the report's workbooks written by spawned processes)."""
    from tests.trust import copy_sample, run

    data = copy_sample(tmp_path_factory.mktemp("keyed"))
    result = run(
        data,
        "--full-validation",
        DEFERRAL_PII_KEY="k1-test-key",
        DEFERRAL_GX_DATA_DOCS="1",
        DEFERRAL_DUCKDB_THREADS="2",
        DEFERRAL_GX_SAMPLE_ROWS="1000",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return data, result


@pytest.fixture(scope="session")
def obligations_published(tmp_path_factory):
    """The obligations world (tests/worlds.py) run and published as of 2022-12: its root and outputs."""
    from tests.worlds import obligations_world

    root = tmp_path_factory.mktemp("obligations")
    return root, obligations_world(root).run(as_of="2022-12", publish=True)


@pytest.fixture
def obligations_copy(obligations_published, tmp_path):
    """A copy of the published obligations world (its data dir, and its rows to run it again): a test that
    runs or breaks the world again, where a run from scratch would only repeat ``obligations_published``."""
    import shutil

    from tests.worlds import obligations_world

    source, _ = obligations_published
    root = tmp_path / "world"
    shutil.copytree(source, root, symlinks=True)
    return obligations_world(root)


@pytest.fixture(scope="session")
def statistics_published(tmp_path_factory):
    """The statistics world (tests/worlds.py) run and published as of 2022-12: its root, outputs and codes."""
    from tests.worlds import statistics_world

    root = tmp_path_factory.mktemp("statistics")
    out, codes = statistics_world(root, publish=True)
    return root, out, codes


@pytest.fixture
def changed_environment(monkeypatch):
    """monkeypatch for the environment; Dagster's cached definitions dropped before (an earlier test's,
    built under another environment) and after (this test's)."""
    from tests.trust import forget_cached_definitions

    forget_cached_definitions()
    yield monkeypatch
    forget_cached_definitions()
