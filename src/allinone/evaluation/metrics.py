"""One-pass tracking metrics with the field's toolkits' exact conventions (pure numpy).

Inputs are arrays: predictions and ground truth ``(N, 4)`` ``x, y, w, h`` pixels, optional
``target_visible`` ``(N,)`` bool (the dataset's absence flags). Curves are fractions in [0, 1];
scores are percent. Nothing here reads files or knows about models.

``mode="pytracking"`` — pytracking's analysis, which the All-in-One reference reports with:

- frame 1's prediction is replaced by the ground truth; a prediction with zero width or height is
  replaced by the previous (already replaced) prediction, except on frames whose ground truth is
  NaN; a NaN or negative-size prediction is an error;
- IoU uses inclusive pixels (``x2 = x + w − 1``, ``inter = x2 − x1 + 1``), centres are
  ``x + (w − 1) / 2``; the normalised error divides both centres by the ground truth's ``w, h``;
- a frame is *valid* when its ground truth has positive width and height (and, for datasets that
  use absence flags, the target is visible). An invalid frame has overlap −1 and centre error +inf
  (misses) but normalised error −1, i.e. a *hit* for normalised precision (pytracking's quirk);
- datasets whose absent frames are misses in all three measures (``absent_is_miss``: LaSOT — the
  toolkit tests ``dataset == 'lasot'``) also set both centre errors of absent frames to +inf;
  LaSOT_ext uses the flags too but keeps the quirk (absent = hit for normalised precision);
- every frame stays in the denominator; success counts ``IoU > t`` for t = 0, 0.05, …, 1 (21),
  precision counts ``error ≤ t`` for 0..50 px (51) and 0, 0.01, …, 0.5 (51);
- AUC = mean of the 21 success points; precision at 20 px; normalised precision at 0.20.

``mode="got10k"`` — the got10k toolkit (``ExperimentOTB`` / ``ExperimentLaSOT``):

- frame 1's prediction is replaced by the ground truth too, but zero-size predictions are kept
  (IoU 0) and absence flags are ignored (the frame is scored against whatever box it holds);
- IoU without the +1 (``x2 = x + w``), ``inter / (union + eps)`` clipped to [0, 1]; degenerate
  ground truth gets no special case (IoU 0, centre errors computed as usual);
- the normalised error divides the centre offset by ``max(1, w), max(1, h)`` of the ground truth;
- frames whose ground truth is NaN are dropped (out of the denominator); a NaN prediction is a miss;
- thresholds ``linspace(0, 1, 21)``, ``0..50`` px, ``linspace(0, 0.5, 51)``; AUC = mean of the
  success curve, precision at 20 px, and normalised precision = the *mean of its curve* over 0–0.5.

Lengths (``lengths=``): ``"equal"`` (default) makes a prediction array whose length differs from
the ground truth an error; pytracking's analysis uses ``"truncate"`` for LaSOT (extra lines dropped,
a short file an error) and ``"truncate_or_pad"`` elsewhere (a short file padded with zero boxes
*after* the zero-size rule, so the padded frames stay zero-size: misses for the overlap).

Decisions where the toolkits give no number: in pytracking mode
a NaN ground-truth frame is an invalid frame (pytracking raises, except for UAV123). Curves are
computed in float64 (pytracking accumulates in float32: differences ≲ 1e-4 points); pytracking's
``torch.arange`` success thresholds differ from ``i * 0.05`` by one ulp at 0.65 and 0.75.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

MODES = ("pytracking", "got10k")

# pytracking: torch.arange(0, 1.05, 0.05), arange(0, 51), arange(0, 51) / 100
SUCCESS_THRESHOLDS = np.arange(21) * 0.05
CENTER_THRESHOLDS = np.arange(51, dtype=np.float64)
NORM_CENTER_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0
# got10k: linspace(0, 1, 21), arange(0, 51), linspace(0, 0.5, 51)
GOT10K_SUCCESS_THRESHOLDS = np.linspace(0, 1, 21)
GOT10K_NORM_CENTER_THRESHOLDS = np.linspace(0, 0.5, 51)
PRECISION_INDEX = 20  # 20 px
NORM_PRECISION_INDEX = 20  # 0.20


@dataclass(frozen=True)
class AbsencePolicy:
    """How a dataset's absence flags enter the pytracking metrics.

    use_flags: frames flagged absent are invalid (pytracking passes ``target_visible``).
    absent_is_miss: absent frames are misses for the normalised precision too.
    """

    use_flags: bool = False
    absent_is_miss: bool = False


# pytracking passes target_visible for LaSOT and LaSOT_ext only (TNL2K, OTB, WebUAV-3M, GOT-10k,
# TrackingNet: None, so their absence files are ignored). SynthVL follows LaSOT (our dataset).
ABSENCE_POLICIES: dict[str, AbsencePolicy] = {
    "lasot": AbsencePolicy(use_flags=True, absent_is_miss=True),
    "lasot_ext": AbsencePolicy(use_flags=True, absent_is_miss=False),
    "synthvl": AbsencePolicy(use_flags=True, absent_is_miss=True),
}


def absence_policy(dataset: str) -> AbsencePolicy:
    """The absence policy of a dataset name (flags ignored for datasets not listed)."""
    return ABSENCE_POLICIES.get(dataset.lower(), AbsencePolicy())


class FrameErrors(NamedTuple):
    """Per-frame measures of one sequence (N,). Misses are encoded as the toolkit encodes them."""

    overlap: np.ndarray
    center: np.ndarray
    norm_center: np.ndarray


def thresholds(mode: str = "pytracking") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(success, centre in px, normalised centre) thresholds of a mode."""
    check_mode(mode)
    if mode == "got10k":
        return GOT10K_SUCCESS_THRESHOLDS, CENTER_THRESHOLDS, GOT10K_NORM_CENTER_THRESHOLDS
    return SUCCESS_THRESHOLDS, CENTER_THRESHOLDS, NORM_CENTER_THRESHOLDS


def check_mode(mode: str) -> None:
    """Raise ValueError unless `mode` is one of `MODES`."""
    if mode not in MODES:
        raise ValueError(f"metric mode must be one of {', '.join(MODES)}; got {mode!r}")


# ---- raw paired measures (no conventions about invalid frames) -------------------------------

def iou_inclusive(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """IoU of paired (N, 4) ``x, y, w, h`` boxes, inclusive pixels (``x2 = x + w − 1``)."""
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:] - 1.0, gt[:, :2] + gt[:, 2:] - 1.0)
    inter = np.clip(br - tl + 1.0, 0.0, None).prod(axis=1)
    union = pred[:, 2:].prod(axis=1) + gt[:, 2:].prod(axis=1) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def iou_got10k(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """got10k's IoU: ``x2 = x + w``, ``inter / (union + eps)`` clipped to [0, 1]."""
    tl = np.maximum(pred[:, :2], gt[:, :2])
    br = np.minimum(pred[:, :2] + pred[:, 2:], gt[:, :2] + gt[:, 2:])
    inter = np.maximum(br - tl, 0.0).prod(axis=1)
    union = pred[:, 2:].prod(axis=1) + gt[:, 2:].prod(axis=1) - inter
    return np.clip(inter / (union + np.finfo(float).eps), 0.0, 1.0)


def centers(boxes: np.ndarray) -> np.ndarray:
    """Pixel centres ``x + (w − 1) / 2, y + (h − 1) / 2`` (both toolkits), (N, 2)."""
    return boxes[:, :2] + 0.5 * (boxes[:, 2:] - 1.0)


def center_distance(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """pytracking's centre error in px, or with both centres divided by the ground truth's w, h."""
    pc, gc = centers(pred), centers(gt)
    if normalized:
        with np.errstate(divide="ignore", invalid="ignore"):
            pc, gc = pc / gt[:, 2:], gc / gt[:, 2:]
    return np.sqrt(((pc - gc) ** 2).sum(axis=1))


def center_distance_got10k(pred: np.ndarray, gt: np.ndarray, normalized: bool = False) -> np.ndarray:
    """got10k's centre error; normalised: the offset divided by ``max(1, w), max(1, h)`` of gt."""
    offset = centers(pred) - centers(gt)
    if normalized:
        offset = offset / np.maximum(1.0, gt[:, 2:])
    return np.sqrt((offset ** 2).sum(axis=1))


# ---- per-sequence measures with the toolkits' conventions ------------------------------------

def _as_boxes(boxes: np.ndarray, what: str) -> np.ndarray:
    boxes = np.array(boxes, dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what} must be (N, 4) x, y, w, h boxes; got shape {boxes.shape}")
    return boxes


def fill_zero_size(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """pytracking's rule: a zero-width/height prediction takes the previous (filled) prediction.

    Frame 0 and frames whose ground truth is NaN are never replaced, so they are the sources.
    """
    keep = ~(pred[:, 2:] == 0.0).any(axis=1) | np.isnan(gt).any(axis=1)
    keep[0] = True
    source = np.maximum.accumulate(np.where(keep, np.arange(len(pred)), 0))
    return pred[source]


def _pytracking_errors(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray],
                       absent_is_miss: bool) -> FrameErrors:
    bad = ~np.isfinite(pred).all(axis=1) | (pred[:, 2:] < 0).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"invalid prediction at frame {i + 1} (line {i + 1}): {pred[i].tolist()} "
                         "(NaN, infinite or negative size; pytracking rejects such results)")
    n = min(len(pred), len(gt))
    pred = fill_zero_size(pred[:n], gt[:n])
    if n < len(gt):  # pytracking pads after the zero-size rule: the padding stays zero-size
        pred = np.concatenate([pred, np.zeros((len(gt) - n, 4))])
    pred[0] = gt[0]
    with np.errstate(invalid="ignore"):
        valid = (gt[:, 2:] > 0.0).all(axis=1)
    if target_visible is not None:
        valid &= target_visible
    overlap = iou_inclusive(pred, gt)
    with np.errstate(invalid="ignore"):
        center = center_distance(pred, gt)
        norm = center_distance(pred, gt, normalized=True)
    overlap[~valid] = -1.0
    center[~valid] = np.inf
    norm[~valid] = -1.0
    if absent_is_miss and target_visible is not None:
        center[~target_visible] = np.inf
        norm[~target_visible] = np.inf
    return FrameErrors(overlap, center, norm)


def _got10k_errors(pred: np.ndarray, gt: np.ndarray) -> FrameErrors:
    pred = np.concatenate([pred[:len(gt)], np.zeros((max(0, len(gt) - len(pred)), 4))])
    pred[0] = gt[0]
    keep = ~np.isnan(gt).any(axis=1)
    pred, gt = pred[keep], gt[keep]
    with np.errstate(invalid="ignore"):
        return FrameErrors(iou_got10k(pred, gt), center_distance_got10k(pred, gt),
                           center_distance_got10k(pred, gt, normalized=True))


LENGTH_RULES = ("equal", "truncate", "truncate_or_pad")


def _check_lengths(n_pred: int, n_gt: int, lengths: str) -> None:
    if lengths not in LENGTH_RULES:
        raise ValueError(f"lengths must be one of {', '.join(LENGTH_RULES)}; got {lengths!r}")
    if n_gt == 0:
        raise ValueError("empty sequence: no frames to score")
    if n_pred == 0:
        raise ValueError(f"no predicted boxes for {n_gt} ground-truth frames")
    if n_pred != n_gt and (lengths == "equal" or (n_pred < n_gt and lengths == "truncate")):
        raise ValueError(f"{n_pred} predicted boxes for {n_gt} ground-truth frames")


def sequence_errors(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray] = None, *,
                    absent_is_miss: bool = False, mode: str = "pytracking", lengths: str = "equal") -> FrameErrors:
    """Per-frame overlap, centre error and normalised centre error of one sequence.

    pred, gt: (N, 4) ``x, y, w, h``. target_visible: (N,) bool absence flags to apply (None: all
    frames valid); absent_is_miss: LaSOT's rule (see the module docstring). In got10k mode both are
    ignored and frames with NaN ground truth are dropped, so the arrays can be shorter than N.
    lengths: what a `pred` of another length than `gt` means (``equal``: an error; ``truncate``:
    extra boxes dropped, fewer an error; ``truncate_or_pad``: fewer padded with zero boxes).
    """
    check_mode(mode)
    pred, gt = _as_boxes(pred, "predictions"), _as_boxes(gt, "ground truth")
    _check_lengths(len(pred), len(gt), lengths)
    if mode == "got10k":
        return _got10k_errors(pred, gt)
    if target_visible is not None:
        target_visible = np.asarray(target_visible, dtype=bool).reshape(-1)
        if len(target_visible) != len(gt):
            raise ValueError(f"{len(target_visible)} visibility flags for {len(gt)} frames")
    return _pytracking_errors(pred, gt, target_visible, absent_is_miss)


def overlaps(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray] = None, *,
             absent_is_miss: bool = False, mode: str = "pytracking") -> np.ndarray:
    """Per-frame IoU with the mode's conventions (−1 marks an invalid frame in pytracking mode)."""
    return sequence_errors(pred, gt, target_visible, absent_is_miss=absent_is_miss, mode=mode).overlap


def center_errors(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray] = None, *,
                  absent_is_miss: bool = False, mode: str = "pytracking") -> np.ndarray:
    """Per-frame centre error in px with the mode's conventions (+inf = miss)."""
    return sequence_errors(pred, gt, target_visible, absent_is_miss=absent_is_miss, mode=mode).center


def normalized_center_errors(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray] = None, *,
                             absent_is_miss: bool = False, mode: str = "pytracking") -> np.ndarray:
    """Per-frame normalised centre error with the mode's conventions (−1 = hit, +inf = miss)."""
    return sequence_errors(pred, gt, target_visible, absent_is_miss=absent_is_miss, mode=mode).norm_center


# ---- curves and scores ---------------------------------------------------------------------

@dataclass(frozen=True)
class Curves:
    """Success (21,), precision (51,) and normalised-precision (51,) curves, fractions in [0, 1]."""

    success: np.ndarray
    precision: np.ndarray
    norm_precision: np.ndarray
    mode: str = "pytracking"

    def scores(self) -> dict[str, float]:
        """``auc``, ``precision`` (at 20 px) and ``norm_precision`` in percent."""
        norm = self.norm_precision.mean() if self.mode == "got10k" else self.norm_precision[NORM_PRECISION_INDEX]
        return {"auc": float(self.success.mean() * 100.0),
                "precision": float(self.precision[PRECISION_INDEX] * 100.0),
                "norm_precision": float(norm * 100.0)}

    @property
    def auc(self) -> float:
        """Success AUC in percent (mean of the success curve)."""
        return float(self.success.mean() * 100.0)


def curves_from_errors(errors: FrameErrors, mode: str = "pytracking") -> Curves:
    """Fraction of frames over each threshold: ``IoU > t``, ``error ≤ t`` (all frames counted)."""
    success_t, center_t, norm_t = thresholds(mode)
    with np.errstate(invalid="ignore"):
        success = (errors.overlap[:, None] > success_t[None, :]).mean(axis=0)
        precision = (errors.center[:, None] <= center_t[None, :]).mean(axis=0)
        norm = (errors.norm_center[:, None] <= norm_t[None, :]).mean(axis=0)
    return Curves(success, precision, norm, mode)


def sequence_curves(pred: np.ndarray, gt: np.ndarray, target_visible: Optional[np.ndarray] = None, *,
                    absent_is_miss: bool = False, mode: str = "pytracking", lengths: str = "equal") -> Curves:
    """Success, precision and normalised-precision curves of one sequence (`lengths`: see
    `sequence_errors`)."""
    errors = sequence_errors(pred, gt, target_visible, absent_is_miss=absent_is_miss, mode=mode,
                             lengths=lengths)
    if len(errors.overlap) == 0:
        raise ValueError("no frame with a ground-truth box to score (all NaN)")
    return curves_from_errors(errors, mode)


def mean_curves(per_sequence: list[Curves]) -> Curves:
    """The tracker's curves: the mean of the per-sequence curves (every sequence weighs the same)."""
    if not per_sequence:
        raise ValueError("no sequences to average")
    modes = {c.mode for c in per_sequence}
    if len(modes) != 1:
        raise ValueError(f"cannot average curves of different modes: {sorted(modes)}")
    return Curves(*(np.mean([getattr(c, k) for c in per_sequence], axis=0)
                    for k in ("success", "precision", "norm_precision")), mode=modes.pop())


def summarize(per_sequence: list[Curves]) -> dict[str, float]:
    """Scores over sequences in percent: ``auc``, ``precision`` (20 px), ``norm_precision``."""
    return mean_curves(per_sequence).scores()
