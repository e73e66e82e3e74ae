"""`allinone analyze`: score result folders against a dataset's ground truth, table + JSON + plots."""
from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from .metrics import SequenceCurves, sequence_curves, summarize
from .results import read_results


def analyze(sequences: list, results_dirs: list[Path], mode: str = "pytracking",
            skip_missing: bool = False) -> tuple[dict, dict]:
    """Score each results folder (tracker = folder name) on `sequences`.

    Returns (report, curves): report = {tracker: {"auc", "precision", "norm_precision",
    "per_sequence": {seq: {"auc"}}}} in percent; curves = {tracker: mean curves} for plots.
    """
    report, curves = {}, {}
    for rdir in results_dirs:
        rdir = Path(rdir)
        name = rdir.resolve().name
        per_seq: dict[str, SequenceCurves] = {}
        for seq in sequences:
            path = rdir / f"{seq.name}.txt"
            if not path.exists():
                if skip_missing:
                    warnings.warn(f"{name}: no result for {seq.name}; skipped")
                    continue
                raise FileNotFoundError(f"result file missing: {path} (run `allinone test` first)")
            pred = read_results(path)
            if len(pred) != len(seq.boxes):
                raise ValueError(f"{path}: {len(pred)} lines for {len(seq.boxes)} frames of {seq.name}")
            per_seq[seq.name] = sequence_curves(pred, seq.boxes, seq.visible, seq.dataset, mode)
        scores = summarize(list(per_seq.values()), mode)
        report[name] = {**scores, "per_sequence": {k: {"auc": c.auc} for k, c in per_seq.items()}}
        curves[name] = {key: np.mean([getattr(c, key) for c in per_seq.values()], axis=0)
                        for key in ("success", "precision", "norm_precision")}
    return report, curves


def format_table(report: dict) -> str:
    lines = [f"{'tracker':<24}{'AUC':>8}{'P@20':>8}{'NP':>8}{'seqs':>6}"]
    for name, r in sorted(report.items(), key=lambda kv: -kv[1]["auc"]):
        lines.append(f"{name:<24}{r['auc']:>8.2f}{r['precision']:>8.2f}{r['norm_precision']:>8.2f}"
                     f"{len(r['per_sequence']):>6}")
    return "\n".join(lines)


def analyze_command(dataset: str, root: str, results: list[Path], json_out: Optional[str] = None,
                    plot_dir: Optional[str] = None, mode: str = "pytracking", split: Optional[str] = None) -> dict:
    """What ``allinone analyze`` runs: open the dataset, score, print, write JSON and plots."""
    from ..data import open_dataset

    ds = open_dataset(dataset, root, split=split) if split else open_dataset(dataset, root)
    report, curves = analyze(ds.sequences(), results, mode=mode)
    print(format_table(report))
    if json_out:
        Path(json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(json_out).write_text(json.dumps(report, indent=1))
    if plot_dir:
        from .plots import write_plots

        write_plots(Path(plot_dir), curves, report, dataset)
    return report
