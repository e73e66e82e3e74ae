"""Success, precision and normalised-precision plots (PNG), drawn as pytracking / OTB draw them.

One line per tracker, legend entries ``"Name [72.8]"`` sorted by that plot's score, axis labels as
in pytracking's plots, curves in percent. Rendered with matplotlib's Agg canvas directly (no
pyplot, no global backend switch), so it works headless and in worker processes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from .metrics import Curves, thresholds

_STYLES = ["-", "--", "-."]

# (key, score key, title, x label, y label, legend location)
_PLOTS = [
    ("success", "auc", "Success", "Overlap threshold", "Overlap Precision [%]", "lower left"),
    ("precision", "precision", "Precision", "Location error threshold [pixels]", "Distance Precision [%]",
     "lower right"),
    ("norm_precision", "norm_precision", "Normalized Precision", "Location error threshold",
     "Distance Precision [%]", "lower right"),
]


def plot_curve(path: str | Path, x: np.ndarray, curves: dict[str, np.ndarray], scores: dict[str, float], *,
               title: str, xlabel: str, ylabel: str, legend_loc: str = "lower left") -> Path:
    """One PNG: `curves[name]` (fractions) against `x`; legend ``name [score]`` best first."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    fig = Figure(figsize=(6.0, 4.8), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    colors = [f"C{i}" for i in range(10)]
    for i, name in enumerate(sorted(curves, key=lambda n: -scores[n])):
        ax.plot(x, np.asarray(curves[name]) * 100.0, _STYLES[(i // 10) % len(_STYLES)], color=colors[i % 10],
                linewidth=2.0, label=f"{name} [{scores[name]:.1f}]")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(float(x[0]), float(x[-1])), ylim=(0.0, 100.0))
    ax.grid(True, linestyle="--", alpha=0.5)
    if curves:
        ax.legend(loc=legend_loc, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def write_plots(report, out_dir: str | Path, dataset: Optional[str] = None) -> dict[str, Path]:
    """``success_plot.png``, ``precision_plot.png``, ``norm_precision_plot.png`` in `out_dir`.

    report: an `analysis.AnalysisReport` (scores per tracker, mean curves in ``report.curves``).
    Returns {"success" | "precision" | "norm_precision": path}.
    """
    out_dir = Path(out_dir)
    mode = getattr(report, "mode", "pytracking")
    curves: dict[str, Curves] = report.curves
    xs = dict(zip(("success", "precision", "norm_precision"), thresholds(mode)))
    suffix = f" on {dataset}" if dataset else ""
    paths = {}
    for key, score_key, title, xlabel, ylabel, loc in _PLOTS:
        if key == "norm_precision" and mode == "got10k":
            title += " (score: mean over 0–0.5)"
        paths[key] = plot_curve(out_dir / f"{key}_plot.png", xs[key],
                                {name: getattr(c, key) for name, c in curves.items()},
                                {name: report[name][score_key] for name in curves},
                                title=f"{title} plot{suffix}", xlabel=xlabel, ylabel=ylabel, legend_loc=loc)
    return paths
