"""How a table ingested by province is split into steps (contracts.yaml ``by_province``).

A file under ``raw/<table>/<province_code>/`` belongs to the profile with that province code; every
other file is *shared*: it is staged once and its rows are split once by the province of their unit
(``ingest_split.sql``), so each province's step reads its own rows only, never another province's.
A row's key includes its unit, so duplicates and conflicting rows always meet in one province's
step, and a flat folder gives the same accepted rows as one step over the table.
按省拆分入库：raw/<表>/<省代码>/ 下的文件归该省；其余文件按单位所属省份分配。
"""

from dataclasses import dataclass, field
from pathlib import Path

from assets.profiles import PolicyProfile

# the staged folder of the files no single province owns
SHARED = "_shared"


@dataclass(frozen=True)
class Share:
    """One ingest step of a table: the whole table (``province`` None) or one province's rows."""

    table: str
    province: str | None  # policy_id
    files: tuple[Path, ...]  # the raw files this step stages and reads itself
    shared_parts: tuple[Path, ...] = ()  # its rows of the shared files, split out by the planning step
    takes_orphans: bool = False  # the first province: shared rows whose unit is nobody's, shared files' broken lines
    regions: tuple[str, ...] = ()  # the province's pooling regions: its units are those with one of these
    listed: tuple[dict, ...] = field(default=())  # files reported by this step besides its own (the shared ones)


def route_files(files: list[Path], raw_dir: Path, profiles: list[PolicyProfile]) -> tuple[dict[str, list[Path]], list[Path]]:
    """The files of each province's own folder (policy_id -> files), and the shared files: those not
    under a folder named by a province code, or under a code more than one profile has."""
    by_code: dict[str, list[str]] = {}
    for profile in profiles:
        by_code.setdefault(profile.province_code, []).append(profile.policy_id)
    own: dict[str, list[Path]] = {}
    shared: list[Path] = []
    for path in files:
        parts = path.relative_to(raw_dir).parts
        owners = by_code.get(parts[0], []) if len(parts) > 1 else []
        if len(owners) == 1:
            own.setdefault(owners[0], []).append(path)
        else:
            shared.append(path)
    return own, shared
