"""Identifier checks: USCC (GB 32100) and citizen id (GB 11643) via python-stdnum.

Check characters are validated only on values that already match the suite's format regex, so
a row breaks one rule at a time (a lowercase uscc is a format error, not a check error:
stdnum's own ``compact`` would upper-case it). The DuckDB UDFs run on distinct values.
"""

from __future__ import annotations

import hashlib
import hmac
import weakref

import duckdb
import pyarrow as pa
from duckdb.sqltypes import BOOLEAN, VARCHAR
from stdnum.cn import ric, uscc

_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# What the first two characters of a USCC say about the unit (SPEC section 2).
PREFIX_UNIT_TYPES = {
    "91": {"enterprise", "accounting_firm"},
    "92": {"individual_business"},
    "93": {"enterprise"},  # farmers' cooperatives register as enterprises here
    "51": {"social_group"},
    "52": {"social_service_org"},
    "53": {"foundation"},
    "31": {"law_firm"},
    "11": {"government_agency"},
    "12": {"public_institution"},
}


def uscc_check_ok(code: str) -> bool:
    """GB 32100 check character (character 18) is right."""
    return uscc.calc_check_digit(code[:17]) == code[17]


def person_check_ok(code: str) -> bool:
    """GB 11643 check character (character 18) is right."""
    return ric.calc_check_digit(code) == code[17]


def gb11714_check(org8: str) -> str:
    """GB 11714 organisation-code check character over 8 characters."""
    total = sum(_ALNUM.index(c) * w for c, w in zip(org8, _GB11714_WEIGHTS))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_inner_check_ok(code: str) -> bool:
    """The inner GB 11714 check (characters 9-17): a warning only, real codes fail it."""
    return gb11714_check(code[8:16]) == code[16]


def _vectorised(check, result_type=None):
    def run(values: pa.Array) -> pa.Array:
        return pa.array([None if v is None else check(v) for v in values.to_pylist()], result_type or pa.bool_())

    return run


def person_key(secret: bytes, person_id: str) -> str:
    """SPEC section 4: the first 16 hex characters of HMAC-SHA256(key, person_id)."""
    return hmac.new(secret, person_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


# The connections that already have the functions: asking DuckDB's catalogue (duckdb_functions()) costs
# about 15 ms a time, and a report-month step registers once per province on the same connection.
_WITH_PERSON_KEY: "weakref.WeakSet[duckdb.DuckDBPyConnection]" = weakref.WeakSet()
_WITH_CHECKS: "weakref.WeakSet[duckdb.DuckDBPyConnection]" = weakref.WeakSet()


def register_person_key(con: duckdb.DuckDBPyConnection, key: str) -> None:
    """The SQL function ``person_key(person_id)`` under ``key`` (DEFERRAL_PII_KEY), once per connection."""
    if con in _WITH_PERSON_KEY:
        return
    secret = key.encode("utf-8")
    con.create_function(
        "person_key",
        _vectorised(lambda v: person_key(secret, v), pa.string()),
        [VARCHAR],
        VARCHAR,
        type="arrow",
        side_effects=False,
    )
    _WITH_PERSON_KEY.add(con)


def register_udfs(con: duckdb.DuckDBPyConnection) -> None:
    """The check-character functions, once per connection."""
    if con in _WITH_CHECKS:
        return
    for name, fn in (
        ("uscc_check_ok", uscc_check_ok),
        ("person_check_ok", person_check_ok),
        ("uscc_inner_check_ok", uscc_inner_check_ok),
    ):
        con.create_function(name, _vectorised(fn), [VARCHAR], BOOLEAN, type="arrow", side_effects=False)
    _WITH_CHECKS.add(con)
