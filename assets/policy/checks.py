"""Checks on the policy assets: the invariants of ``checks.yaml`` that hold every report month,
each a ``<name>.check.sql`` beside it (:mod:`assets.month_checks`); the metadata names the months
and rows that break one. 政策计算的逐月校验。"""

from pathlib import Path

from assets.month_checks import invariant_checks

policy_checks = invariant_checks(Path(__file__).parent)
