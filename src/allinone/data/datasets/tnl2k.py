"""TNL2K: ``<root>/{train,test}/<seq>/imgs/`` (start index, padding and extension vary: the
listing is sorted naturally), ``groundtruth.txt`` comma-separated, ``language.txt`` one line (some
are empty: no text). Some releases nest ``<seq>/<seq>/``; both are accepted. `root` may be the
folder holding ``train``/``test`` or a split folder itself. One test frame of the public release is
damaged; reading it raises `FrameReadError` naming it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset, frames_beyond, read_boxes, read_text, sorted_frames


def _split_root(root: Path, split: str, names: tuple[str, ...]) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    return root  # the split folder itself


def frames_for(folder: Path, count: int, name: str) -> list[str]:
    """The first `count` frames of an image folder in natural order; too few is an error, more a warning."""
    if not folder.is_dir():
        raise DatasetError(f"sequence {name}: frame folder missing: {folder}")
    frames = sorted_frames(folder)
    if len(frames) < count:
        raise DatasetError(f"sequence {name}: {len(frames)} frames in {folder} for {count} annotation lines")
    frames_beyond(name, folder, count, len(frames))
    return frames[:count]


class TNL2K(Dataset):
    """TNL2K (split 'train' or 'test', default 'test')."""

    name = "tnl2k"

    default_split = "test"

    def layout_hint(self) -> str:
        return "expected <root>/{train,test}/<seq>/{imgs/, groundtruth.txt, language.txt}"

    def _seq_dir(self, name: str) -> Path:
        d = self.base / name
        return d / name if (d / name / "groundtruth.txt").exists() else d

    def _list(self) -> list[str]:
        self.base = _split_root(self.root, self.split, (self.split, self.split.upper()))
        names = sorted(p.name for p in self.base.iterdir() if p.is_dir() and any(
            (d / "groundtruth.txt").exists() or (d / "imgs").is_dir() for d in (p, p / p.name)))
        if not names:
            raise DatasetError(f"{self.name}: no sequences under {self.base} ({self.layout_hint()})")
        return names

    def _annotation_path(self, name: str) -> Path:
        return self._seq_dir(name) / "groundtruth.txt"

    def _load(self, name: str) -> Sequence:
        d = self._seq_dir(name)
        boxes = read_boxes(d / "groundtruth.txt")
        frames = frames_for(d / "imgs", len(boxes), name)
        return Sequence(name=name, frames=frames, boxes=boxes, visible=np.ones(len(boxes), bool),
                        text=read_text(d / "language.txt"), dataset=self.name)
