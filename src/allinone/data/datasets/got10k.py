"""GOT-10k: ``<root>/train/list.txt`` naming ``GOT-10k_Train_%06d`` folders, each with
``%08d.jpg`` frames, ``groundtruth.txt`` (comma-separated), ``absence.label`` (1 = target absent),
``cover.label`` (0 = fully covered … 8) and ``meta_info.ini``. A frame is visible when the target is
not absent and not fully covered. GOT-10k has no language; ``pseudo_text=True`` uses the
``object_class`` of ``meta_info.ini`` as the text (the paper trains GOT-10k without text).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ..sequence import AnnotationError, DatasetError, Sequence
from .base import Dataset, read_boxes, read_lines
from .lasot import numbered_frames


def read_meta_info(path: Path) -> dict[str, str]:
    """``key: value`` lines of a GOT-10k ``meta_info.ini`` (the ``[METAINFO]`` header skipped)."""
    meta = {}
    if path.is_file():
        for line in read_lines(path):
            key, sep, value = line.partition(":")
            if sep:
                meta[key.strip()] = value.strip()
    return meta


def _read_labels(path: Path, count: int) -> np.ndarray:
    values = []
    for number, line in enumerate(read_lines(path), start=1):
        try:
            values.append(int(line.strip()))
        except ValueError:
            raise AnnotationError(f"{path}:{number}: expected an integer label, got {line.strip()!r}") from None
    if len(values) != count:
        raise AnnotationError(f"{path}: {len(values)} labels for {count} frames")
    return np.asarray(values)


class GOT10k(Dataset):
    """GOT-10k (split 'train', 'val' or 'test'; default 'train')."""

    name = "got10k"

    default_split = "train"

    def __init__(self, root: str | Path, split: Optional[str] = None, pseudo_text: bool = False,
                 skip_missing: bool = False):
        self.pseudo_text = pseudo_text
        super().__init__(root, split, skip_missing=skip_missing)

    def layout_hint(self) -> str:
        return "expected <root>/train/list.txt and <root>/train/GOT-10k_Train_000001/{00000001.jpg, groundtruth.txt}"

    def _list(self) -> list[str]:
        self.base = self.root / self.split if (self.root / self.split).is_dir() else self.root
        listing = self.base / "list.txt"
        if listing.is_file():
            names = [line.strip() for line in read_lines(listing) if line.strip()]
        else:
            names = sorted(p.name for p in self.base.iterdir()
                           if (p / "groundtruth.txt").exists() or (p / "00000001.jpg").exists())
        if not names:
            raise DatasetError(f"{self.name}: no sequences under {self.base} ({self.layout_hint()})")
        return names

    def _annotation_path(self, name: str) -> Path:
        return self.base / name / "groundtruth.txt"

    def _load(self, name: str) -> Sequence:
        d = self.base / name
        boxes = read_boxes(d / "groundtruth.txt")
        n = len(boxes)
        visible = np.ones(n, bool)
        if (d / "absence.label").exists():
            visible &= _read_labels(d / "absence.label", n) == 0
        if (d / "cover.label").exists():
            visible &= _read_labels(d / "cover.label", n) > 0
        meta = read_meta_info(d / "meta_info.ini")
        cls = meta.get("object_class")
        return Sequence(name=name, frames=numbered_frames(d, n, name), boxes=boxes,
                        visible=visible, text=(cls or "") if self.pseudo_text else "", dataset=self.name,
                        class_name=cls)
