"""Tracking metrics with the field's toolkits' exact conventions (pure numpy).

``pytracking`` mode (what the All-in-One reference reports), per sequence:
  - the first frame's prediction is replaced by the ground truth; a zero-size prediction by the
    previous prediction;
  - IoU and centres use the ``x2 = x + w − 1`` pixel convention;
  - a frame is *valid* when its ground-truth box has positive width and height and, where the
    dataset has absence flags, the target is visible; invalid frames get overlap −1 (a miss),
    centre error +inf (a miss) and normalised centre error −1 (a hit, pytracking's quirk);
  - for LaSOT (and SynthVL, which follows LaSOT) frames flagged absent are misses for all three
    measures (centre and normalised errors +inf);
  - every frame stays in the denominator; success counts ``IoU > t`` for t in 0:0.05:1 (21), the
    precision curves count ``error ≤ t`` for 0..50 px and 0..0.5 (51 steps each);
  - AUC = mean of the 21 success points; precision is read at 20 px, normalised precision at 0.20.

``got10k`` mode (the got10k toolkit): no first-frame replacement, zero-size predictions kept,
absence flags ignored, IoU and centres without the −1 (``x2 = x + w``), normalised error divides by
``max(1, size)``, and the normalised-precision score is the mean of its curve over 0–0.5.

All scores are in percent.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

OVERLAP_THRESHOLDS = np.arange(0.0, 1.0 + 1e-9, 0.05)  # 21
CENTER_THRESHOLDS = np.arange(0, 51, dtype=np.float64)  # 51, px
NORM_THRESHOLDS = np.arange(0, 51, dtype=np.float64) / 100.0  # 51
LASOT_LIKE = ("lasot", "synthvl")


@dataclass
class SequenceCurves:
    """Per-sequence curves (fractions in [0, 1])."""

    success: np.ndarray  # (21,)
    precision: np.ndarray  # (51,)
    norm_precision: np.ndarray  # (51,)

    @property
    def auc(self) -> float:
        return float(self.success.mean() * 100)


def iou_pytracking(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Paired IoU of ``x, y, w, h`` boxes (N, 4) with the inclusive-pixel (+1) convention."""
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    inter = np.clip(br - tl + 1.0, 0, None).prod(1)
    union = pred[:, 2:].prod(1) + gt[:, 2:].prod(1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def center_error_pytracking(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    pc = pred[:, :2] + 0.5 * (pred[:, 2:] - 1.0)
    gc = gt[:, :2] + 0.5 * (gt[:, 2:] - 1.0)
    if normalized:
        with np.errstate(divide="ignore", invalid="ignore"):
            pc, gc = pc / gt[:, 2:], gc / gt[:, 2:]
    return np.sqrt(((pc - gc) ** 2).sum(1))


def _fill_zero_size(pred: np.ndarray) -> np.ndarray:
    pred = pred.copy()
    for i in range(1, len(pred)):
        if (pred[i, 2:] == 0).any() or not np.isfinite(pred[i]).all():
            pred[i] = pred[i - 1]
    return pred


def sequence_errors(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray],
                    dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pytracking's per-frame (overlap, centre error, normalised centre error)."""
    pred = _fill_zero_size(np.asarray(pred, np.float64))
    gt = np.asarray(gt, np.float64)
    pred[0] = gt[0]
    size_ok = (gt[:, 2:] > 0).sum(1) == 2
    valid = size_ok & visible if visible is not None else size_ok
    with np.errstate(invalid="ignore"):
        overlap = iou_pytracking(pred, gt)
        center = center_error_pytracking(pred, gt)
        norm = center_error_pytracking(pred, gt, normalized=True)
    overlap[~valid] = -1.0
    center[~valid] = np.inf
    norm[~valid] = -1.0
    if dataset in LASOT_LIKE and visible is not None:
        center[~visible] = np.inf
        norm[~visible] = np.inf
    if np.isnan(overlap).any():
        raise ValueError("NaN overlap: a result box holds NaN where the ground truth is valid")
    return overlap, center, norm


def _curves(overlap: np.ndarray, center: np.ndarray, norm: np.ndarray) -> SequenceCurves:
    with np.errstate(invalid="ignore"):
        success = (overlap[:, None] > OVERLAP_THRESHOLDS[None, :]).mean(0)
        precision = (center[:, None] <= CENTER_THRESHOLDS[None, :]).mean(0)
        norm_precision = (norm[:, None] <= NORM_THRESHOLDS[None, :]).mean(0)
    return SequenceCurves(success, precision, norm_precision)


def sequence_curves(pred: np.ndarray, gt: np.ndarray, visible: Optional[np.ndarray] = None,
                    dataset: str = "", mode: str = "pytracking") -> SequenceCurves:
    """Success / precision / normalised-precision curves of one sequence."""
    if len(pred) != len(gt):
        raise ValueError(f"{len(pred)} result boxes for {len(gt)} ground-truth frames")
    if mode == "pytracking":
        return _curves(*sequence_errors(pred, gt, visible, dataset))
    if mode == "got10k":
        return _curves(*got10k_errors(pred, gt))
    raise ValueError(f"mode must be 'pytracking' or 'got10k', got {mode!r}")


def got10k_errors(pred: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The got10k toolkit's per-frame IoU, centre error and normalised centre error."""
    pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:], gt[:, :2] + gt[:, 2:])
    inter = np.clip(br - tl, 0, None).prod(1)
    union = pred[:, 2:].prod(1) + gt[:, 2:].prod(1) - inter
    overlap = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    pc, gc = pred[:, :2] + pred[:, 2:] / 2, gt[:, :2] + gt[:, 2:] / 2
    center = np.sqrt(((pc - gc) ** 2).sum(1))
    size = np.maximum(1.0, gt[:, 2:])
    norm = np.sqrt((((pc - gc) / size) ** 2).sum(1))
    return overlap, center, norm


def summarize(curves: list[SequenceCurves], mode: str = "pytracking") -> dict[str, float]:
    """Mean over sequences → AUC, precision@20 px, normalised precision (percent)."""
    if not curves:
        raise ValueError("no sequences to summarize")
    success = np.mean([c.success for c in curves], axis=0)
    precision = np.mean([c.precision for c in curves], axis=0)
    norm = np.mean([c.norm_precision for c in curves], axis=0)
    norm_score = norm.mean() if mode == "got10k" else norm[20]
    return {"auc": float(success.mean() * 100), "precision": float(precision[20] * 100),
            "norm_precision": float(norm_score * 100)}
