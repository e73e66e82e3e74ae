"""Still-image sets (COCO, RefCOCOg, Visual Genome) as one-frame sequences, one per annotation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset


class StillImageDataset(Dataset):
    """Annotations kept as small tuples; a `Sequence` is built when one is accessed."""

    is_video = False

    def _records(self) -> dict[str, tuple[str, list[float], str, Optional[tuple[int, int]]]]:
        raise NotImplementedError  # pragma: no cover

    def _list(self) -> list[str]:
        self._recs = self._records()
        if not self._recs:
            raise DatasetError(f"{self.name}: no annotations under {self.root} ({self.layout_hint()})")
        return list(self._recs)

    def __getitem__(self, index: int | str) -> Sequence:
        """Built on each access, not cached: still-image sets hold up to ~10^6 annotations."""
        name = self._names[index] if isinstance(index, int) else index
        if name not in self._recs:
            raise KeyError(f"{self.name}: no sample named {name!r}")
        return self._load(name)

    def texts(self) -> list[str]:
        return [rec[2] for rec in self._recs.values() if rec[2]]

    def _load(self, name: str) -> Sequence:
        image, box, text, size = self._recs[name]
        return Sequence(name=name, frames=[image], boxes=np.asarray([box], float), visible=[True], text=text,
                        dataset=self.name, image_size=size)


def _read_json(path: Path, what: str) -> Any:
    if not path.is_file():
        raise DatasetError(f"{what} not found: {path}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None


def _first_dir(*candidates: Path) -> Path:
    return next((c for c in candidates if c.is_dir()), candidates[0])
