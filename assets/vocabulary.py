"""The bilingual vocabulary (expectations/vocabulary.yaml): every quarantine rule's meaning in Chinese and
English, with a fix hint for bureau staff, and the diagnoses of Excel-mangled and full-width forms.
One source for the quarantine's ``hint`` column, the validation report and the Dagster UI."""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from assets.storage import q

VOCABULARY_FILE = Path(__file__).resolve().parent.parent / "expectations" / "vocabulary.yaml"


@dataclass(frozen=True)
class Diagnosis:
    rule: str
    explains: tuple[str, ...]
    patterns: tuple[str, ...]
    columns: tuple[str, ...]
    zh: str
    en: str
    hint: str  # for any kind of column
    hints: dict  # value kind -> the hint for a column of that kind (format: ids, money: amounts …)


@cache
def _load() -> dict:
    return yaml.safe_load(VOCABULARY_FILE.read_text(encoding="utf-8"))


def _hints(hint) -> tuple[str, dict]:
    """A diagnosis's ``hint``: one text, or a text per value kind of the column (the first also
    stands for any other kind)."""
    if isinstance(hint, dict):
        return next(iter(hint.values())), dict(hint)
    return hint, {}


@cache
def diagnoses() -> tuple[Diagnosis, ...]:
    return tuple(
        Diagnosis(
            d["rule"],
            tuple(d["explains"]),
            tuple(d["patterns"]),
            tuple(d.get("columns", ())),
            d["zh"],
            d["en"],
            *_hints(d["hint"]),
        )
        for d in _load()["diagnoses"]
    )


@cache
def rule_texts() -> dict[str, dict[str, str]]:
    """rule kind -> {zh, en, hint}; a diagnosis that explains several kinds keeps its first text."""
    texts = {k: dict(v) for k, v in _load()["rules"].items()}
    for d in diagnoses():
        texts.setdefault(d.rule, {"zh": d.zh, "en": d.en, "hint": d.hint})
    return texts


def rule_text(rule: str, value_kinds: dict[str, str] | None = None) -> dict[str, str]:
    """``<kind>:<column>`` -> {zh, en, hint}; a diagnosis's hint is the one for its column's value kind
    (``value_kinds``: the table's, :meth:`assets.contracts.RawTable.value_kinds`)."""
    kind, _, column = rule.partition(":")
    text = dict(rule_texts().get(kind, {}))
    by_kind = {d.rule: d.hints for d in diagnoses() if d.hints}.get(kind, {})
    value_kind = (value_kinds or {}).get(column)
    if value_kind in by_kind:
        text["hint"] = by_kind[value_kind]
    return text


def hint_sql(rule_expr: str, value_kinds: dict[str, str] | None = None) -> str:
    """SQL for the Chinese explanation and fix hint of a quarantine row's rule list: a rule of a
    column with a hint of its own (:func:`rule_text`) first, else its kind's."""
    specific = {
        f"{d.rule}:{column}": rule_text(f"{d.rule}:{column}", value_kinds)
        for d in diagnoses()
        if d.hints
        for column in (value_kinds or {})
    }
    entries = ", ".join(
        f"{q(k)}: {q(v['zh'] + '：' + v['hint'])}" for k, v in [*specific.items(), *rule_texts().items()]
    )
    return (
        f"array_to_string(list_transform(string_split({rule_expr}, ';'), lambda r: split_part(r, ':', 2) || '：' || "
        f"coalesce(MAP {{{entries}}}[r], MAP {{{entries}}}[split_part(r, ':', 1)], split_part(r, ':', 1))), '；')"
    )


def term(kind: str, value, language: str = "zh") -> str:
    """An enumeration value as staff read it (``terms`` of the vocabulary): ``term("component",
    "employer_medical")`` -> 职工医保单位缴费. A value the vocabulary lacks is shown as is."""
    key = str(value).lower() if isinstance(value, bool) else str(value)
    entry = _load()["terms"].get(kind, {}).get(key)
    return entry[language] if entry else ("" if value is None else str(value))


def bilingual(kind: str) -> str:
    """Every value of an enumeration with both names, for UI descriptions and docs."""
    return "; ".join(f"{value} = {e['zh']} ({e['en']})" for value, e in _load()["terms"][kind].items())
