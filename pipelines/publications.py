"""Which publications ``deferral diff`` compares, and how its result reads as text or CSV."""

import csv
import io
import re
from pathlib import Path

PUBLICATIONS = "publications"


def _written(version: Path) -> str:
    """When a publication was written, from its name (``<month>_<YYYYmmddTHHMMSS>_<run>`` or
    ``legacy-<YYYYmmddTHHMMSS>``)."""
    stamp = re.search(r"[0-9]{8}T[0-9]{6}", version.name)
    return stamp.group(0) if stamp else ""


def versions(data_dir: Path) -> list[Path]:
    """The data dir's publications, oldest first (staging folders of killed runs aside)."""
    folder = data_dir / PUBLICATIONS
    found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")] if folder.is_dir() else []
    return sorted((p for p in found if (p / "PUBLICATION.json").exists()), key=lambda p: (_written(p), p.name))


def pick(data_dir: Path, old: str | None, new: str | None) -> tuple[Path, Path]:
    """(from, to): ``new`` or the current publication; ``old`` or the publication before ``new``."""
    every = versions(data_dir)
    by_name = {p.name: p for p in every}
    for name in (old, new):
        if name is not None and name not in by_name:
            raise ValueError(f"no publication {name} under {data_dir / PUBLICATIONS} (have: {', '.join(by_name)})")
    current = (data_dir / "published").resolve() if (data_dir / "published").exists() else None
    to = by_name[new] if new else current
    if to is None or to not in every:
        raise ValueError(f"{data_dir} has no publication yet (run `deferral run` first)")
    if old:
        return by_name[old], to
    before = [p for p in every[: every.index(to)]]
    if not before:
        raise ValueError(f"{to.name} is the only publication of {data_dir}: nothing to compare it with")
    return before[-1], to


def _key(row: dict, keys: list[str]) -> str:
    return " ".join(f"{k}={row[k]}" for k in keys)


def text_lines(old: str, new: str, result: dict) -> list[str]:
    lines = [f"from {old}", f"to   {new}"]
    for table, r in result.items():
        if "table_in_one_only" in r:
            lines.append(f"{table}: only in the {r['table_in_one_only']} publication")
            continue
        changed_rows = {_key(c, r["keys"]) for c in r["changed"]}
        lines.append(f"{table}: {len(r['added'])} added, {len(r['removed'])} removed, {len(changed_rows)} changed")
        if r["columns_in_one_only"]:
            lines.append(f"  columns in one publication only (not compared): {', '.join(r['columns_in_one_only'])}")
        lines += [f"  + {_key(a, r['keys'])}" for a in r["added"]]
        lines += [f"  - {_key(a, r['keys'])}" for a in r["removed"]]
        lines += [
            f"  ~ {_key(c, r['keys'])} {c['column_name']}: {c['old_value']} -> {c['new_value']}" for c in r["changed"]
        ]
    return lines


def csv_lines(old: str, new: str, result: dict) -> list[str]:
    """One line per added or removed row and per changed column: table, change, key, column, old, new."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["from", "to", "table", "change", "key", "column", "old_value", "new_value"])
    for table, r in result.items():
        for a in r["added"]:
            writer.writerow([old, new, table, "added", _key(a, r["keys"]), "", "", ""])
        for a in r["removed"]:
            writer.writerow([old, new, table, "removed", _key(a, r["keys"]), "", "", ""])
        for c in r["changed"]:
            key = _key(c, r["keys"])
            writer.writerow([old, new, table, "changed", key, c["column_name"], c["old_value"], c["new_value"]])
    return buffer.getvalue().splitlines()
