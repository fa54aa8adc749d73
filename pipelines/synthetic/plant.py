"""Bad rows the generator plants into each table's ``zz_corrections.csv``, and what it expects ingest
to find in them (``raw/manifest.json``): one rule per planted row, or a format rule and the diagnosis
that explains it (the export forms bureaus produce, ``EXPORT_FORMS``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import duckdb

from assets.identifiers import gb11714_check

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_with_check(first17: str) -> str:
    from stdnum.cn import uscc

    return first17 + uscc.calc_check_digit(first17)


def person_with_check(first17: str) -> str:
    from stdnum.cn import ric

    return first17 + ric.calc_check_digit(first17 + "0")


def wrong_check(person_id: str) -> str:
    """The id with a wrong check character."""
    return person_id[:-1] + ("0" if person_id[-1] != "0" else "1")


def check_digit_rules(person_id: str) -> str:
    """What ingest finds in an id with a wrong check character: one ending in 000 also looks like
    Excel's truncation to 15 significant digits (expectations/vocabulary.yaml excel_truncated)."""
    return "check_digit:person_id" + (";excel_truncated:person_id" if person_id.endswith("000") else "")


class Planter:
    """Bad and duplicate rows planted into each table's ``zz_corrections.csv``, counted per rule."""

    def __init__(self, con: duckdb.DuckDBPyConnection, k: int):
        self.con, self.k = con, k
        self.rows: dict[str, list[list[str]]] = {}
        self.raw_lines: dict[str, list[str]] = {}
        self.expected: dict[str, dict[str, int]] = {}
        self.duplicates: dict[str, int] = {}
        self._n = 0

    def fresh(self) -> int:
        self._n += 1
        return self._n

    def fresh_uscc(self) -> str:
        n = self.fresh()
        body = f"9134010079{n:06d}"
        return uscc_with_check(body + gb11714_check(body[8:16]))

    def fresh_person(self) -> str:
        n = self.fresh()
        return person_with_check(f"11010119{70 + n % 20:02d}0101{n % 1000:03d}")

    def sample(self, table_sql: str, n: int) -> list[dict[str, str]]:
        rel = self.con.sql(f"SELECT * FROM ({table_sql}) ORDER BY ALL LIMIT {n}")
        cols = rel.columns
        return [{c: ("" if v is None else str(v)) for c, v in zip(cols, row)} for row in rel.fetchall()]

    def bad(self, table: str, rule: str, row: dict[str, str], columns: list[str]) -> None:
        """A row breaking ``rule`` (several joined by ';': a format rule and the diagnosis that explains it)."""
        self.rows.setdefault(table, []).append([row.get(c, "") for c in columns])
        self.expected.setdefault(table, {})
        for one in rule.split(";"):
            self.expected[table][one] = self.expected[table].get(one, 0) + 1

    def duplicate(self, table: str, row: dict[str, str], columns: list[str]) -> None:
        self.rows.setdefault(table, []).append([row.get(c, "") for c in columns])
        self.duplicates[table] = self.duplicates.get(table, 0) + 1

    def field_count(self, table: str, line: str) -> None:
        self.raw_lines.setdefault(table, []).append(line)
        self.expected.setdefault(table, {})
        self.expected[table]["field_count:record"] = self.expected[table].get("field_count:record", 0) + 1


Changes = dict | Callable[["Planter", int], dict | None]


@dataclass
class Plan:
    """What is planted into one table each round: a bad row per case (``rule`` may be a function of
    the row), optionally a line with the wrong field count, and pairs of rows sharing a key; then
    ``k`` exact copies of generated rows (``repeat``: how a copy is re-typed, e.g. ``202209``).

    ``row`` makes a valid row from changes (fresh ids inside); a case's changes, when a function,
    are computed first. With ``one_row_per_round`` the round's cases change one shared row."""

    table: str
    row: Callable[..., dict]
    cases: list[tuple[str | Callable[[dict], str], Changes]]
    copies_sql: str
    # (rule, changes making the first row or None to skip, what the second row changes given the first)
    conflicts: list[tuple[str, Changes, dict | Callable[["Planter", dict], dict]]] = field(default_factory=list)
    field_count: Callable[[], str] | None = None
    repeat: Callable[[dict], dict] = lambda row: row
    one_row_per_round: bool = False


def resolve_changes(change: Changes, p: "Planter", j: int) -> dict | None:
    return change(p, j) if callable(change) else change
