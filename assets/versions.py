"""Versions of what results are computed from: the code, the policy profiles, the raw files.

``code_digest`` changes with any file under ``assets/`` (Python, SQL, YAML), the GX suites or the
DuckDB version; ``raw_listing`` names each raw file with its size and SHA-256 (a file's content
hash, computed once per process for an unchanged file). Ingest and the report months compare them
with what they recorded to keep what is still valid (assets/ingest/reuse.py, assets/month_digests.py).
"""

import hashlib
from functools import cache
from pathlib import Path

import duckdb

from assets.contracts import EXPECTATIONS_DIR
from assets.profiles import PolicyProfile

ASSETS_DIR = Path(__file__).parent
_file_digests: dict[tuple[str, int, int], str] = {}


@cache
def code_digest() -> str:
    """Every file whose change can change an output: the assets' code, SQL and data, the suites."""
    files = sorted(
        p for ext in ("py", "sql", "yaml") for p in ASSETS_DIR.rglob(f"*.{ext}") if "__pycache__" not in p.parts
    )
    files += sorted(EXPECTATIONS_DIR.glob("*.json"))
    h = hashlib.sha256(duckdb.__version__.encode())
    for path in files:
        h.update(path.relative_to(ASSETS_DIR.parent).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def profiles_digest(profiles: list[PolicyProfile]) -> str:
    return hashlib.sha256(" ".join(f"{p.policy_id}={p.content_hash}" for p in profiles).encode()).hexdigest()


def setup_digest(profiles: list[PolicyProfile], pii_key: str) -> str:
    """The code, the profiles and the person_key key (hashed with the rest, never kept as such): what
    every computed table depends on besides its data."""
    return digest_of([code_digest(), profiles_digest(profiles), "person_key " + pii_key])


def file_sha256(path: Path) -> str:
    """A file's SHA-256, remembered for this process while its size and modification time stay."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _file_digests:
        with open(path, "rb") as fh:
            _file_digests[key] = hashlib.file_digest(fh, "sha256").hexdigest()
    return _file_digests[key]


def digest_of(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
