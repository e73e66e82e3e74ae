"""Which frames make a training pair (SPEC §5): a weighted mix of datasets, frames close in time.

A pair is drawn in three steps, each from an explicit ``numpy.random.Generator``:

1. a dataset, with probability proportional to its weight;
2. a sequence of that dataset, uniformly;
3. a template frame uniformly among the frames where the target is usable (visible, with a finite
   box at least 1 px wide and high), then a search frame among the usable frames at most `max_gap`
   frames away from it, other than the template frame itself when there is one. A still image (a
   sequence of one frame: COCO, Visual Genome, RefCOCOg) gives template and search from the same
   frame; the search crop's jitter makes the two differ.

Sequences without any usable frame are skipped (another sequence is drawn).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

import numpy as np

if TYPE_CHECKING:
    from .sequence import Sequence

# A sequence draw that finds no usable frame is retried; after this many the mix is hopeless.
MAX_SEQUENCE_DRAWS = 1000


class SamplingError(RuntimeError):
    """No usable training pair can be drawn from the given datasets."""


def usable_frames(sequence: Sequence) -> np.ndarray:
    """Indices of the frames whose target is visible with a finite box ≥ 1 px wide and high."""
    boxes = np.asarray(sequence.boxes, dtype=np.float64).reshape(-1, 4)
    ok = np.asarray(sequence.visible, dtype=bool).reshape(-1)[: len(boxes)].copy()
    ok &= np.isfinite(boxes).all(axis=1) & (boxes[:, 2] >= 1.0) & (boxes[:, 3] >= 1.0)
    return np.flatnonzero(ok)


def _dataset_name(dataset: Any, index: int) -> str:
    return str(getattr(dataset, "name", None) or f"dataset #{index} ({type(dataset).__name__})")


class PairSampler:
    """Draws ``(sequence, template_index, search_index)`` from a weighted mix of datasets.

    Args:
        datasets: ``(dataset, weight)`` pairs; a dataset is anything with ``len()`` and integer
            indexing returning a `Sequence` (what `allinone.data.open_dataset` returns). Weights
            are relative (they need not sum to 1); a zero weight leaves the dataset out.
        max_gap: the most frames template and search may lie apart (SPEC §5: 200).
    """

    def __init__(self, datasets: list[tuple[Any, float]], max_gap: int):
        if max_gap < 0:
            raise ValueError(f"max_gap={max_gap}: must be >= 0 frames")
        kept = []
        for i, (dataset, weight) in enumerate(datasets):
            if weight < 0 or not np.isfinite(weight):
                raise ValueError(f"{_dataset_name(dataset, i)}: sampling weight {weight!r} must be >= 0")
            if weight == 0:
                continue
            if len(dataset) == 0:
                raise ValueError(f"{_dataset_name(dataset, i)} holds no sequences; check its root "
                                 f"directory or give it weight 0")
            kept.append((dataset, float(weight)))
        if not kept:
            raise ValueError("no dataset with a positive sampling weight to draw training pairs from")
        self.datasets = [d for d, _ in kept]
        weights = np.array([w for _, w in kept])
        self.probabilities = weights / weights.sum()
        self.max_gap = int(max_gap)

    def sample_sequence(self, rng: np.random.Generator) -> Sequence:
        """A sequence: the dataset by weight, then a sequence of it uniformly."""
        k = int(rng.choice(len(self.datasets), p=self.probabilities)) if len(self.datasets) > 1 else 0
        dataset = self.datasets[k]
        return dataset[int(rng.integers(len(dataset)))]

    def sample_frames(self, sequence: Sequence, rng: np.random.Generator) -> Optional[tuple[int, int]]:
        """``(template_index, search_index)`` of two usable frames ≤ max_gap apart, or None if none."""
        usable = usable_frames(sequence)
        if len(usable) == 0:
            return None
        template = int(usable[rng.integers(len(usable))])
        lo = np.searchsorted(usable, template - self.max_gap, side="left")
        hi = np.searchsorted(usable, template + self.max_gap, side="right")
        near = usable[lo:hi]
        if len(near) > 1:
            near = near[near != template]
        return template, int(near[rng.integers(len(near))])

    def sample(self, rng: np.random.Generator) -> tuple[Sequence, int, int]:
        """A sequence and two frame indices of it (template, search) whose target is usable."""
        for _ in range(MAX_SEQUENCE_DRAWS):
            sequence = self.sample_sequence(rng)
            frames = self.sample_frames(sequence, rng)
            if frames is not None:
                return sequence, frames[0], frames[1]
        names = ", ".join(_dataset_name(d, i) for i, d in enumerate(self.datasets))
        raise SamplingError(f"{MAX_SEQUENCE_DRAWS} sequences drawn from {names} and none has a frame "
                            f"with a visible target of at least 1x1 px; check the annotations")


def build_datasets(spec: Mapping[str, str], weights: Mapping[str, float],
                   split: Optional[str] = "train") -> list[tuple[Any, float]]:
    """Open each ``name → root`` of `spec` with `open_dataset`, paired with its sampling weight.

    `weights` is ``DataConfig.datasets``; a dataset named on the command line but absent from it
    gets weight 1.0 (asking for it means using it). Used by ``allinone train --data NAME=ROOT``.
    Datasets with splits are opened on `split` (training: LaSOT's 1,120 training sequences, not
    its default test split); None opens each dataset's default split.
    """
    from . import open_dataset  # the readers import this package; import them only when asked

    out = []
    for name, root in spec.items():
        weight = float(weights.get(name, 1.0))
        if weight < 0:
            raise ValueError(f"dataset '{name}': sampling weight {weight} must be >= 0")
        if weight > 0:
            out.append((open_dataset(name, root, split=split), weight))
    if not out:
        raise ValueError(f"no dataset to train on: {dict(spec)!r} with weights {dict(weights)!r}; "
                         f"pass --data NAME=ROOT with a positive weight")
    return out
