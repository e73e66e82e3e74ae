"""OTB99-L (OTB-100 videos + the OTB99-LANG sentences).

Layout A (the public release): ``OTB_videos/<Seq>/img/%04d.jpg`` (Board ``%05d``: the folder is
listed, not formatted), ``groundtruth_rect.txt`` comma- or whitespace-separated, and the text in
``OTB_query_{train,test}/<Seq>.txt``; the split is the set of query files (48 test sequences).
Two-target videos are ``<Seq>-<k>`` with ``groundtruth_rect.<k>.txt``. Some sequences start at a
later frame (BlurCar1 at 247, BlurCar3 at 3, BlurCar4 at 18, David at 300): the frame list starts
there and has one frame per annotation line.
Layout B (restructured copies): ``{train,test}/<Seq>/{img/, groundtruth_rect.txt, nlp.txt}``.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset, frames_beyond, read_boxes, read_text, sorted_frames

START_FRAME = {"BlurCar1": 247, "BlurCar3": 3, "BlurCar4": 18, "David": 300}


def _frame_number(path: str) -> int:
    digits = re.findall(r"\d+", Path(path).stem)
    return int(digits[-1]) if digits else -1


class OTB99L(Dataset):
    """OTB99-L (split 'train' or 'test', default 'test')."""

    name = "otb99l"

    default_split = "test"

    def layout_hint(self) -> str:
        return "expected <root>/OTB_videos/<Seq>/ + <root>/OTB_query_test/<Seq>.txt, or <root>/test/<Seq>/"

    def _list(self) -> list[str]:
        query = self.root / f"OTB_query_{self.split}"
        self.restructured = not query.is_dir() and (self.root / self.split).is_dir()
        if self.restructured:
            names = sorted(p.name for p in (self.root / self.split).iterdir() if p.is_dir())
        elif query.is_dir():
            names = sorted(p.stem for p in query.glob("*.txt"))
        else:
            names = []
        if not names:
            raise DatasetError(f"{self.name}: no {self.split} sequences under {self.root} ({self.layout_hint()})")
        return names

    def _files(self, name: str) -> tuple[Path, Path, Path]:
        """(sequence folder, ground-truth file, description file) of sequence `name`."""
        video, _, target = name.partition("-")
        if self.restructured:
            d = self.root / self.split / name
            return d, d / "groundtruth_rect.txt", d / "nlp.txt"
        d = self.root / "OTB_videos" / video
        gt = d / (f"groundtruth_rect.{target}.txt" if target else "groundtruth_rect.txt")
        return d, gt, self.root / f"OTB_query_{self.split}" / f"{name}.txt"

    def _annotation_path(self, name: str) -> Path:
        return self._files(name)[1]

    def _load(self, name: str) -> Sequence:
        video = name.partition("-")[0]
        d, gt, text_file = self._files(name)
        boxes = read_boxes(gt)
        start = START_FRAME.get(video, 1)
        if not (d / "img").is_dir():
            raise DatasetError(f"sequence {name}: frame folder missing: {d / 'img'}")
        frames = [f for f in sorted_frames(d / "img") if _frame_number(f) >= start]
        frames_beyond(name, d / "img", len(boxes), len(frames))
        frames = frames[: len(boxes)]
        if len(frames) < len(boxes):
            raise DatasetError(f"sequence {name}: {len(frames)} frames from frame {start} in {d / 'img'} "
                               f"for {len(boxes)} annotation lines")
        return Sequence(name=name, frames=frames, boxes=boxes, visible=np.ones(len(boxes), bool),
                        text=read_text(text_file), dataset=self.name, class_name=video)
