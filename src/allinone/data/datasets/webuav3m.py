"""WebUAV-3M: ``{Train,Val,Test}/<seq>/img/%06d.jpg``, ``groundtruth_rect.txt`` comma-separated,
``language.txt`` one line; the class is the sequence name without its trailing ``_<id>``.
`root` may be the folder holding the split folders or a split folder itself.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset, read_boxes, read_text
from .tnl2k import _split_root, frames_for


class WebUAV3M(Dataset):
    """WebUAV-3M (split 'train', 'val' or 'test', default 'test')."""

    name = "webuav3m"

    default_split = "test"

    def layout_hint(self) -> str:
        return "expected <root>/Test/<seq>/{img/000001.jpg, groundtruth_rect.txt, language.txt}"

    def _list(self) -> list[str]:
        s = self.split
        self.base = _split_root(self.root, s, (s.capitalize(), s, s.upper()))
        names = sorted(p.name for p in self.base.iterdir()
                       if (p / "groundtruth_rect.txt").exists() or (p / "img").is_dir())
        if not names:
            raise DatasetError(f"{self.name}: no sequences under {self.base} ({self.layout_hint()})")
        return names

    def _annotation_path(self, name: str) -> Path:
        return self.base / name / "groundtruth_rect.txt"

    def _load(self, name: str) -> Sequence:
        d = self.base / name
        boxes = read_boxes(d / "groundtruth_rect.txt")
        frames = frames_for(d / "img", len(boxes), name)
        return Sequence(name=name, frames=frames, boxes=boxes, visible=np.ones(len(boxes), bool),
                        text=read_text(d / "language.txt"), dataset=self.name,
                        class_name=re.sub(r"_\d+$", "", name))
