"""The report's chart: cumulative deferred, cumulative repaid and outstanding per month, a line per
pooling region of one province. In Chinese with region names when the machine has a CJK font
(CI installs one, fonts-wqy-zenhei; see the README); in English with region codes otherwise, so
a label is never drawn as empty boxes."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib import font_manager  # noqa: E402

from assets.profiles import RegionNames  # noqa: E402

logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "weight normal not found": harmless

# Fonts that cover the GB2312 characters, most common first (Linux packages, Windows, macOS).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "Heiti SC",
    "AR PL UMing CN",
)
PANELS = [
    ("cumulative_deferred", "累计缓缴金额", "Deferred (cumulative)"),
    ("cumulative_repaid", "累计补缴金额", "Repaid (cumulative)"),
    ("outstanding", "待补缴金额", "Outstanding"),
]


def _first_cjk() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


@cache
def cjk_font() -> str | None:
    """The first installed CJK-capable font family, or None. matplotlib keeps its font list in a
    per-user cache; a font installed after that cache was written (CI installs one) is not in it,
    so when no CJK font is listed the system's font files missing from the list are added."""
    family = _first_cjk()
    if family is None:
        listed = {f.fname for f in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():
            if path not in listed:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font file matplotlib cannot read
                    continue
        family = _first_cjk()
    return family


def write_chart(path: Path, title: str, series: list[dict], names: RegionNames) -> bool:
    """Writes the PNG; returns whether it is in Chinese. The layout is fixed (matplotlib's
    tight_layout draws the figure once more to measure it, a third of a chart's time, and a report
    has a chart per province and month): the unit sits in each panel's title, so a long tick label
    never meets an axis label."""
    import matplotlib.pyplot as plt  # here: the step's own process only digests the font (report_reuse.py)

    family = cjk_font()
    regions = sorted({r["region_code"] for r in series})
    months = sorted({r["report_month"] for r in series})
    position = {m: i for i, m in enumerate(months)}  # months as positions: no parsing of labels as dates
    with plt.rc_context(
        {
            "font.family": [family] if family else ["DejaVu Sans"],
            "axes.unicode_minus": False,
            "svg.hashsalt": "deferral",
            "axes.titley": 1.0,
        }
    ):
        fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharex=True)
        fig.subplots_adjust(left=0.06, right=0.99, bottom=0.17, top=0.84, wspace=0.22)
        for ax, (column, zh, en) in zip(axes, PANELS):
            if not any(r[column] for r in series):  # nothing yet: an axis from 0, not matplotlib's -0.04…0.04
                ax.set_ylim(0, 1)
            for region in regions:
                points = sorted((r["report_month"], float(r[column])) for r in series if r["region_code"] == region)
                label = names.name(region) if family else region
                ax.plot(
                    [position[m] for m, _ in points],
                    [v / 10_000 for _, v in points],
                    marker="o",
                    markersize=3,
                    label=label,
                )
            ax.set_title(f"{zh}（万元）" if family else f"{en}, 10,000 yuan", fontsize=10)
            ax.set_xticks(range(len(months)), months, rotation=60, fontsize=7)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7, title="统筹地区" if family else "region", ncol=2)
        fig.suptitle(title if family else "Phased deferral of employer medical contributions, by pooling region")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110, metadata={"Software": None})
        plt.close(fig)
    return family is not None
