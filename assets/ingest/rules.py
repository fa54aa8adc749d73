"""Compiles a raw table's contract into SQL: cleaned cells, rule predicates, typed columns.

Each GX expectation of the table's suite becomes one predicate named ``<meta.rule>:<column>``;
the code rules (check characters, calendar dates, positive amounts, known regions, accepted
units) follow. A row's ``rules`` is every broken rule joined by ``;`` in that order.

A Parquet file may already hold a money or date column as its contract type (``typed``: see
:func:`typed_in_source`). Its text, as DuckDB casts it, is then known to be well formed exactly
when a typed test holds (an amount is not negative, a date lies in years 1 to 9999), so such a
column's rules are compiled as those tests: the same verdicts without casting every value to
text and matching it against a pattern. Likewise a text column whose format settles the raw cell
(:func:`settled_columns`) is cleaned and judged by format only where its raw cell does not match.
"""

from __future__ import annotations

import re

from assets.contracts import RawTable
from assets.storage import ident, q
from assets.vocabulary import diagnoses

# A cell longer than this is not a value of any column: its own rule, its raw value kept whole.
MAX_CELL_CHARS = 1000
# Control characters (NUL and the C0 set but tab, LF, CR; DEL) never belong in a cell.
CONTROL_CHARS = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]"

# The suite formats whose text is decided by a typed test (the typed value as DuckDB casts it to text).
MONEY_REGEX = r"^[0-9]+(\.[0-9]{1,2})?$"  # DECIMAL(p, s <= 2) as text: digits, a point and s digits
DATE_REGEX = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"  # DATE as text: YYYY-MM-DD in years 1-9999
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")

# Surrounding white space SPEC section 5 trims: ASCII blanks and the ideographic space.
TRIM_CODE_POINTS = (32, 9, 10, 13, 12288)
TRIM_CHARS = " || ".join(f"chr({c})" for c in TRIM_CODE_POINTS)


def typed_in_source(table: RawTable, source_types: dict[str, str]) -> frozenset[str]:
    """The columns a Parquet file (``source_types``: column -> DuckDB type) holds as values whose
    text is decided by a typed test: a money column as DECIMAL with at most two decimals (and at
    most 16 integer digits, so it casts to DECIMAL(18,2) exactly), a date column as DATE, each
    with the suite's usual format and no other column rule."""
    out = set()
    for col, source_type in source_types.items():
        if col not in table.columns or col in table.uscc_columns + table.person_columns + table.region_columns:
            continue
        kinds = {exp["type"] for _, c, exp in table.column_rules() if c == col}
        if kinds - {"expect_column_values_to_not_be_null", "expect_column_values_to_match_regex"}:
            continue
        regex, decimal = column_regex(table, col), _DECIMAL.fullmatch(source_type)
        if table.column_type(col) == "DECIMAL(18,2)" and regex == MONEY_REGEX and decimal:
            precision, scale = int(decimal[1]), int(decimal[2])
            if scale <= 2 and precision - scale <= 16:
                out.add(col)
        elif table.column_type(col) == "DATE" and regex == DATE_REGEX and source_type == "DATE":
            out.add(col)
    return frozenset(out)


def cell_text(column: str, typed: frozenset[str] = frozenset()) -> str:
    """A cell as text: a typed column's value cast as DuckDB casts it when a file is read as text."""
    return f"CAST({ident(column)} AS VARCHAR)" if column in typed else ident(column)


def cleaned_cells(table: RawTable, typed: frozenset[str] = frozenset(), settled: dict[str, bool] | None = None) -> str:
    """Each cell trimmed of TRIM_CHARS, empty as NULL. DuckDB's trim with a character set is slow, so
    it runs only on cells that start or end with one of them (the same result: trim changes no other).
    The edge test reads code points (``ascii`` is the first one's) and suffixes, not ``left``/``right``,
    which cost a UTF-8 walk per cell: 3.5 s against 0.8 s a column over 100 million rows. A typed
    column's value stays as it is: its text has nothing to trim and is never empty. A ``settled`` column
    (:func:`settled_columns`) is cleaned only where its raw cell does not match its format."""

    def cleaned(c: str) -> str:
        if c in typed:
            return ident(c)
        if c in (settled or {}):
            return f"CASE WHEN {settled_flag(c)} THEN {ident(c)} ELSE {cleaned_cell(c)} END"
        return cleaned_cell(c)

    return ", ".join(f"{cleaned(c)} AS {ident(c)}" for c in table.columns)


def cleaned_cell(column: str) -> str:
    """One cell as :func:`cleaned_cells` cleans it (an expression, without alias)."""
    c, codes = ident(column), ", ".join(str(p) for p in TRIM_CODE_POINTS)
    edged = f"ascii({c}) IN ({codes}) OR " + " OR ".join(f"suffix({c}, chr({p}))" for p in TRIM_CODE_POINTS)
    return f"nullif(CASE WHEN {edged} THEN trim({c}, {TRIM_CHARS}) ELSE {c} END, '')"


def settled_columns(table: RawTable, typed: frozenset[str] = frozenset()) -> dict[str, bool]:
    """The text columns a match of their suite format settles on the raw cell: the format matches only
    non-empty strings of printable ASCII other than the space (:data:`_SETTLED_CHARS`), so a raw cell
    that matches has nothing to trim, is not empty, holds no control character and passes its format
    once cleaned. Column -> whether a match also keeps the cell within MAX_CELL_CHARS. The judging pass
    matches each such raw cell once (:func:`settled_flags`) and cleans, and tests the format and cell
    rules of, only the cells that do not match (the same verdicts: tests/test_ingest_rules.py); most
    cells of an export match (trimming and the cell rules were most of a province's judging)."""
    out = {}
    for col in table.columns:
        regex = column_regex(table, col)
        width = None if col in typed or regex is None else _settling_width(regex)
        if width is not None:
            out[col] = width <= MAX_CELL_CHARS
    return out


def settled_flag(column: str) -> str:
    """The column holding whether a settled column's raw cell matches its format."""
    return ident(f"ok:{column}")


def settled_flags(table: RawTable, settled: dict[str, bool]) -> list[str]:
    """Each settled column's raw cell matched against its format (NULL for a NULL cell), named
    :func:`settled_flag`."""
    return [f"regexp_full_match({ident(c)}, {q(column_regex(table, c))}) AS {settled_flag(c)}" for c in settled]


# What a settling format may match: printable ASCII but the space (nothing SPEC section 5 trims, no
# control character).
_SETTLED_CHARS = range(0x21, 0x7F)


def _settling_width(regex: str) -> int | None:
    """The longest match of ``regex`` when it matches only non-empty strings of _SETTLED_CHARS, else
    None. Read by Python's own parser of regular expressions (the suites' formats are plain patterns,
    read alike by RE2); a pattern it cannot read, or any construct but literals, classes of literals
    and ranges, repeats, groups, alternatives and the anchors, does not settle."""
    try:
        parsed = re._parser.parse(regex)  # noqa: SLF001  the standard library's parser (Python 3.11, pinned)
    except re.error:
        return None
    low, high = parsed.getwidth()
    return high if low > 0 and _only_settled_chars(parsed) else None


def _only_settled_chars(items) -> bool:
    for op, arg in items:
        name = op.name
        if name == "AT":
            ok = arg.name in ("AT_BEGINNING", "AT_END")
        elif name == "LITERAL":
            ok = arg in _SETTLED_CHARS
        elif name == "IN":
            ok = all(
                (kind.name == "LITERAL" and value in _SETTLED_CHARS)
                or (kind.name == "RANGE" and value[0] in _SETTLED_CHARS and value[1] in _SETTLED_CHARS)
                for kind, value in arg
            )
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            ok = _only_settled_chars(arg[2])
        elif name == "SUBPATTERN":
            ok = _only_settled_chars(arg[-1])
        elif name == "BRANCH":
            ok = all(_only_settled_chars(branch) for branch in arg[1])
        else:
            ok = False
        if not ok:
            return False
    return True


def _malformed_typed(table: RawTable, column: str) -> str:
    """SQL true when a typed value's text would not match its format (see :func:`typed_in_source`)."""
    col = ident(column)
    if table.column_type(column) == "DATE":
        return f"NOT ({col} BETWEEN DATE '0001-01-01' AND DATE '9999-12-31')"
    return f"{col} < 0"


def _expectation_predicate(expectation: dict) -> str:
    kind, kwargs = expectation["type"], expectation["kwargs"]
    col = ident(kwargs["column"])
    if kind == "expect_column_values_to_not_be_null":
        return f"{col} IS NULL"
    if kind == "expect_column_values_to_match_regex":
        return f"{col} IS NOT NULL AND NOT regexp_full_match({col}, {q(kwargs['regex'])})"
    if kind == "expect_column_values_to_be_in_set":
        values = ", ".join(q(v) for v in kwargs["value_set"])
        return f"{col} IS NOT NULL AND {col} NOT IN ({values})"
    raise ValueError(f"ingest cannot compile expectation type {kind}")


def column_regex(table: RawTable, column: str) -> str | None:
    """The suite's format regex for a column, if it has one."""
    for _, col, exp in table.column_rules():
        if col == column and exp["type"] == "expect_column_values_to_match_regex":
            return exp["kwargs"]["regex"]
    return None


def format_ok(table: RawTable, column: str, expr: str | None = None, typed: frozenset[str] = frozenset()) -> str:
    """SQL true when the column (or ``expr`` standing for it) is non-null and passes its suite regex."""
    if column in typed:
        return f"{ident(column)} IS NOT NULL AND NOT ({_malformed_typed(table, column)})"
    expr = expr or ident(column)
    regex = column_regex(table, column)
    check = f" AND regexp_full_match({expr}, {q(regex)})" if regex else ""
    return f"{expr} IS NOT NULL{check}"


def rule_predicates(
    table: RawTable, regions: list[str], typed: frozenset[str] = frozenset(), settled: dict[str, bool] | None = None
) -> list[tuple[str, str]]:
    """(SQL true when the row breaks the rule, SQL of what the row then says), suite rules first,
    then code rules. What a broken rule says is its name and the diagnoses that explain it
    (:func:`_said`); the cell rules of every column share one entry (:func:`_cell_rules`).

    Check-digit rules use temp tables ``bad_<column>`` of the distinct values that pass the format
    but fail their check character, built by the engine (assets/ingest/engine.py) with python-stdnum;
    ``accepted_units`` holds accepted unit ids. A ``typed`` column's rules are its typed tests: a
    well-formed date is a calendar date, and its text has no control character and is never too long.
    A ``settled`` column's format is tested only where its raw cell does not match it (a CASE, so
    DuckDB matches the pattern on those rows alone: an AND in a projection evaluates both sides).
    """
    settled = settled or {}

    def formatted(col: str, test: str, when_settled: str) -> str:
        return f"CASE WHEN {settled_flag(col)} THEN {when_settled} ELSE {test} END" if col in settled else test

    def ok(col: str, use_typed: bool = False) -> str:
        return formatted(col, format_ok(table, col, typed=typed if use_typed else frozenset()), "true")

    regex_rule = "expect_column_values_to_match_regex"
    rules = [
        (
            _malformed_typed(table, col)
            if col in typed and exp["type"] == regex_rule
            else formatted(col, _expectation_predicate(exp), "false")
            if exp["type"] == regex_rule
            else _expectation_predicate(exp),
            _said(f"{rule}:{col}", diagnosis_predicates(rule, col, typed)),
        )
        for rule, col, exp in table.column_rules()
    ]
    for col in table.uscc_columns + table.person_columns:
        # bad_<column> holds only values that pass the format (engine.py builds it so): the format's
        # pattern is not matched a second time on every row
        check = f"{ident(col)} IN (SELECT v FROM bad_{col})"
        rules.append((check, _said(f"check_digit:{col}", diagnosis_predicates("check_digit", col))))
    for col in [c for c in table.typed_columns("date") if c not in typed]:
        rules.append((f"{ok(col)} AND try_strptime({ident(col)}, '%Y-%m-%d') IS NULL", q(f"calendar_date:{col}")))
    for col in table.positive_columns:
        rules.append(
            (f"{ok(col, use_typed=True)} AND CAST({ident(col)} AS DECIMAL(18, 2)) <= 0", q(f"not_positive:{col}"))
        )
    for col in table.region_columns:
        known = ", ".join(q(r) for r in regions)
        rules.append((f"{ok(col)} AND {ident(col)} NOT IN ({known})", q(f"unknown_region:{col}")))
    rules.append(_cell_rules([c for c in table.columns if c not in typed], settled))
    if table.references_unit:
        rules.append(
            (
                '"unit_id" IS NOT NULL AND "unit_id" NOT IN (SELECT unit_id FROM accepted_units)',
                q("unknown_unit:unit_id"),
            )
        )
    return rules


def _said(name: str, explained_by: list[tuple[str, str]]) -> str:
    """The rule's name, then each diagnosis whose pattern matches. Diagnoses sit inside their rule's
    CASE, so DuckDB evaluates their patterns only on the rows that break the rule (an AND in a
    projection would evaluate both sides on every row)."""
    if not explained_by:
        return q(name)
    return "concat_ws(';', " + ", ".join([q(name), *(f"CASE WHEN {m} THEN {q(d)} END" for d, m in explained_by)]) + ")"


def _cell_rules(columns: list[str], settled: dict[str, bool] | None = None) -> tuple[str, str]:
    """control_character and too_long of every text column, in column order. One pattern over all of a
    row's cells (and each cell's length) guards them: most rows have no control character and no long
    cell, and skip the rest. A settled column whose raw cell matches its format has no control
    character (and, when its format is bounded, is not too long): it is left out of the pattern, and
    the guard holds where its cell does not match (:func:`settled_columns`)."""
    settled = settled or {}
    plain = [c for c in columns if c not in settled]
    guards = [f"length({ident(c)}) > {MAX_CELL_CHARS}" for c in plain]
    guards += [f"strlen({ident(c)}) > {MAX_CELL_CHARS}" for c in columns if c in settled and not settled[c]]
    guards += [f"NOT coalesce({settled_flag(c)}, true)" for c in columns if c in settled]
    if plain:
        guards.append(f"regexp_matches(concat({', '.join(ident(c) for c in plain)}), {q(CONTROL_CHARS)})")
    cases = []
    for col in columns:
        cases.append(
            f"CASE WHEN regexp_matches({ident(col)}, {q(CONTROL_CHARS)}) THEN {q('control_character:' + col)} END"
        )
        cases.append(f"CASE WHEN length({ident(col)}) > {MAX_CELL_CHARS} THEN {q('too_long:' + col)} END")
    return " OR ".join(guards) or "false", f"nullif(concat_ws(';', {', '.join(cases)}), '')"


def diagnosis_predicates(rule: str, column: str, typed: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """The diagnoses (expectations/vocabulary.yaml) that can explain why ``rule`` failed on ``column``,
    as (name, SQL true when its pattern matches); :func:`_said` tests them only where the rule is
    broken, so a diagnosis adds a reason and never a rejection."""
    out = []
    for d in diagnoses():
        if rule in d.explains and (not d.columns or column in d.columns):
            matches = " OR ".join(f"regexp_matches({cell_text(column, typed)}, {q(p)})" for p in d.patterns)
            out.append((f"{d.rule}:{column}", matches))
    return out


def rules_expression(
    table: RawTable, regions: list[str], typed: frozenset[str] = frozenset(), settled: dict[str, bool] | None = None
) -> str:
    """Every broken rule of a row joined by ';', each followed by the diagnoses that explain it."""
    cases = [f"CASE WHEN {broken} THEN {said} END" for broken, said in rule_predicates(table, regions, typed, settled)]
    return "concat_ws(';', " + ", ".join(cases) + ")"


def typed_cells(table: RawTable, typed: frozenset[str] = frozenset()) -> str:
    """Each column as its contract type (TRY_CAST: NULL where a cell does not cast, which only a
    row that breaks a rule has; a typed column's value cast exactly)."""
    out = []
    for col in table.columns:
        sql_type, c = table.column_type(col), ident(col)
        if col in typed:
            out.append(f"CAST({c} AS {sql_type}) AS {c}")
        elif col in table.typed_columns("period"):
            out.append(f"CASE WHEN length({c}) = 6 THEN {c}[1:4] || '-' || {c}[5:6] ELSE {c} END AS {c}")
        elif sql_type != "VARCHAR":
            out.append(f"TRY_CAST({c} AS {sql_type}) AS {c}")
        else:
            out.append(c)
    return ", ".join(out)


def conflict_expression(table: RawTable) -> str:
    cases = []
    for key in table.keys:
        parts = ", ".join(ident(k) for k in key)
        cases.append(
            f"CASE WHEN count(*) OVER (PARTITION BY {parts}) > 1 THEN {q('duplicate_key:' + ','.join(key))} END"
        )
    return "concat_ws(';', " + ", ".join(cases) + ")"


def key_hashes_query(table: RawTable, relation: str, also: str | None = None) -> str:
    """Every row's key hashes in ``relation``, as (key_no, h): a row per key of the table (with the
    column ``also`` of the row)."""
    extra = f", {also}" if also else ""
    return " UNION ALL ".join(
        f"SELECT {i} AS key_no, {h} AS h{extra} FROM {relation}" for i, h in enumerate(key_hashes(table))
    )


def repeated_keys_query(table: RawTable) -> str:
    """Each key's hashes that occur more than once among the accepted rows (``typed``), as (key_no, h):
    a hash aggregate, so the rows themselves are never sorted or held."""
    return " UNION ALL ".join(
        f"SELECT {i} AS key_no, {h} AS h FROM typed GROUP BY 2 HAVING count(*) > 1"
        for i, h in enumerate(key_hashes(table))
    )


def key_hashes(table: RawTable) -> list[str]:
    """Each key of the table as a hash of its columns (SQL), in the order of ``table.keys``."""
    return [f"hash({', '.join(ident(k) for k in key)})" for key in table.keys]


def candidate_expression(table: RawTable, keys: str = "repeated_keys") -> str:
    """SQL true for a row whose key (hashed) is one of ``keys`` (a relation of key_no, h: by default the
    hashes that occur more than once in ``typed``, ``repeated_keys``)."""
    return " OR ".join(f"{h} IN (SELECT h FROM {keys} WHERE key_no = {i})" for i, h in enumerate(key_hashes(table)))
