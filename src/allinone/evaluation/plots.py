"""Success, precision and normalised-precision plots (PNG), as the field draws them."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .metrics import CENTER_THRESHOLDS, NORM_THRESHOLDS, OVERLAP_THRESHOLDS


def _plot(path: Path, x: np.ndarray, curves: dict[str, np.ndarray], scores: dict[str, float],
          title: str, xlabel: str, ylabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.5), dpi=120)
    for name in sorted(curves, key=lambda n: -scores[n]):
        ax.plot(x, curves[name] * 100, linewidth=2, label=f"{name} [{scores[name]:.1f}]")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel, xlim=(x[0], x[-1]), ylim=(0, 100))
    ax.grid(True, linestyle=":")
    ax.legend(loc="lower left" if "Success" in title else "lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_plots(out_dir: Path, per_tracker: dict[str, dict[str, np.ndarray]], scores: dict[str, dict[str, float]],
                dataset: str) -> list[Path]:
    """per_tracker[name] = {"success", "precision", "norm_precision"} mean curves; returns the PNGs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    specs = [("success", OVERLAP_THRESHOLDS, "auc", f"Success plot of OPE on {dataset}", "Overlap threshold",
              "Overlap Precision [%]"),
             ("precision", CENTER_THRESHOLDS, "precision", f"Precision plot of OPE on {dataset}",
              "Location error threshold [pixels]", "Distance Precision [%]"),
             ("norm_precision", NORM_THRESHOLDS, "norm_precision", f"Normalized Precision plot of OPE on {dataset}",
              "Location error threshold", "Distance Precision [%]")]
    paths = []
    for key, x, score_key, title, xl, yl in specs:
        path = out_dir / f"{key}_plot.png"
        _plot(path, x, {n: c[key] for n, c in per_tracker.items()}, {n: s[score_key] for n, s in scores.items()},
              title, xl, yl)
        paths.append(path)
    return paths
