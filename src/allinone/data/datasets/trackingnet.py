"""TrackingNet: ``<root>/TRAIN_<k>/anno/<video>.txt`` (comma-separated boxes) and frames
``<root>/TRAIN_<k>/frames/<video>/<i>.jpg`` numbered from 0 without padding. No language. The
``chunks`` argument picks chunks (default: every ``TRAIN_*`` folder found).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence as Seq

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset, read_boxes
from .lasot import numbered_frames


class TrackingNet(Dataset):
    """TrackingNet training chunks; sequence names are ``TRAIN_<k>/<video>``."""

    name = "trackingnet"
    default_split = "train"

    def __init__(self, root: str | Path, split: Optional[str] = None, chunks: Optional[Seq[int]] = None,
                 skip_missing: bool = False):
        self.chunks = chunks
        super().__init__(root, split, skip_missing=skip_missing)

    def layout_hint(self) -> str:
        return "expected <root>/TRAIN_0/{anno/<video>.txt, frames/<video>/0.jpg}"

    def _list(self) -> list[str]:
        if self.chunks is not None:
            dirs = [self.root / f"TRAIN_{k}" for k in self.chunks]
        else:
            dirs = sorted((p for p in self.root.glob("TRAIN_*") if p.is_dir()), key=lambda p: int(p.name[6:]))
        names = [f"{d.name}/{a.stem}" for d in dirs for a in sorted((d / "anno").glob("*.txt"))]
        if not names:
            raise DatasetError(f"{self.name}: no annotated videos under {self.root} ({self.layout_hint()})")
        return names

    def _annotation_path(self, name: str) -> Path:
        chunk, video = name.split("/", 1)
        return self.root / chunk / "anno" / f"{video}.txt"

    def _load(self, name: str) -> Sequence:
        chunk, video = name.split("/", 1)
        boxes = read_boxes(self.root / chunk / "anno" / f"{video}.txt")
        folder = self.root / chunk / "frames" / video
        frames = numbered_frames(folder, len(boxes), name, pattern="{}.jpg", first=0)  # 0.jpg, 1.jpg, ..., 10.jpg
        return Sequence(name=name, frames=frames, boxes=boxes, visible=np.ones(len(boxes), bool),
                        dataset=self.name)
