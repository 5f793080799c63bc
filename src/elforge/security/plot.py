"""Lag plots (PNG and SVG) with matplotlib's Agg backend: no display needed."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless; must precede pyplot

import matplotlib.pyplot as plt

from elforge.security.lag import MEASURED, LagReport


def _groups(report: LagReport, key: str) -> tuple[list[str], list[list[float]]]:
    groups: dict[str, list[float]] = {}
    for e in report.entries:
        if e.status != MEASURED or e.lag_days is None:
            continue
        label = str(e.year) if key == "year" else (e.severity or "unknown")
        # a log axis cannot show 0: a same-hour fix plots at 0.1 day
        groups.setdefault(label, []).append(max(e.lag_days, 0.1))
    if key == "year":
        labels = sorted(groups)
    else:
        order = ["Critical", "Important", "Moderate", "Low", "None", "unknown"]
        labels = sorted(groups, key=lambda s: order.index(s) if s in order else 99)
    return labels, [groups[k] for k in labels]


def plot_lag(report: LagReport, stem: Path, *, title: str = "Security fix lag") -> list[Path]:
    """Write ``stem.png`` and ``stem.svg``: lag distribution per year and per severity."""
    # text as text (a far smaller SVG); a fixed hash salt gives stable ids for the same data
    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "elforge"}):
        return _plot(report, stem, title)


def _plot(report: LagReport, stem: Path, title: str) -> list[Path]:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 2]})
    for ax, key, name in ((axes[0], "year", "year of reference fix"), (axes[1], "sev", "severity")):
        labels, values = _groups(report, key)
        if values:
            ax.boxplot(values, showfliers=False, whis=(10, 90))
            ax.set_xticks(
                range(1, len(labels) + 1),
                [f"{k}\n(n={len(v)})" for k, v in zip(labels, values, strict=True)],
            )
        ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel("days from reference fix to rebuild availability")
        ax.grid(axis="y", which="both", alpha=0.3)
    fig.suptitle(f"{title} (box: quartiles, whiskers: p10-p90)")
    fig.tight_layout()
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(out[0], dpi=110)
    fig.savefig(out[1], metadata={"Date": None})  # reproducible SVG: no timestamp
    plt.close(fig)
    return out
