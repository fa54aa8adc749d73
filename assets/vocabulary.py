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
    hint: str


@cache
def _load() -> dict:
    return yaml.safe_load(VOCABULARY_FILE.read_text(encoding="utf-8"))


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
            d["hint"],
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


def describe(rule: str) -> str:
    """``money:employer_medical;fullwidth:employer_medical`` -> the Chinese explanations and hints."""
    parts = []
    for item in rule.split(";"):
        kind, _, column = item.partition(":")
        text = rule_texts().get(kind)
        if text:
            parts.append(f"{column}：{text['zh']}（{text['hint']}）")
    return "；".join(parts)


def hint_sql(rule_expr: str) -> str:
    """SQL for the Chinese explanation and fix hint of a quarantine row's rule list."""
    entries = ", ".join(f"{q(k)}: {q(v['zh'] + '：' + v['hint'])}" for k, v in rule_texts().items())
    return (
        f"array_to_string(list_transform(string_split({rule_expr}, ';'), lambda r: split_part(r, ':', 2) || '：' || "
        f"coalesce(MAP {{{entries}}}[split_part(r, ':', 1)], split_part(r, ':', 1))), '；')"
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
