"""Shared pieces of the dataset readers: lazy sequence lists and strict annotation parsing."""
from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..sequence import AnnotationError, DatasetError, Sequence

_SEPARATORS = re.compile(r"[,\t ]+")


def read_lines(path: Path) -> list[str]:
    """Lines of a text file without BOM, trailing newline characters or trailing blank lines."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_boxes(path: Path) -> np.ndarray:
    """``x,y,w,h`` per line, separated by commas, tabs or spaces → (N, 4) float; 'nan'/'NaN' kept.

    A line that is not four numbers raises `AnnotationError` with the file and 1-based line number;
    so does a file without any line.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"annotation file missing: {path}")
    rows = []
    for number, line in enumerate(read_lines(path), start=1):
        parts = [p for p in _SEPARATORS.split(line.strip()) if p]
        try:
            if len(parts) != 4:
                raise ValueError
            rows.append([float(p) for p in parts])
        except ValueError:
            raise AnnotationError(f"{path}:{number}: expected 4 numbers 'x,y,w,h', got {line.strip()!r}") from None
    if not rows:
        raise AnnotationError(f"{path}: no boxes (the file is empty); expected one 'x,y,w,h' line per frame")
    return np.asarray(rows, dtype=np.float64).reshape(-1, 4)


def read_flags(path: Path, count: int) -> np.ndarray:
    """0/1 flags, comma/space separated on one line or one per line → (count,) bool."""
    path = Path(path)
    values = []
    for number, line in enumerate(read_lines(path), start=1):
        for p in _SEPARATORS.split(line.strip()):
            if not p:
                continue
            if p not in ("0", "1"):
                raise AnnotationError(f"{path}:{number}: expected 0/1 flags, got {p!r}")
            values.append(p == "1")
    if len(values) != count:
        raise AnnotationError(f"{path}: {len(values)} flags for {count} frames")
    return np.asarray(values, dtype=bool)


def read_text(path: Path) -> str:
    """First line of a description file, stripped; "" when the file is empty or missing."""
    path = Path(path)
    if not path.is_file():
        return ""
    lines = read_lines(path)
    return lines[0].strip() if lines else ""


class Dataset:
    """A named collection of sequences, each parsed on first access and cached.

    Subclasses list the sequence names cheaply (`_list`) and build one `Sequence` on demand
    (`_load`), so opening LaSOT does not read 1,400 annotation files. A listed sequence whose
    annotation file (`_annotation_path`) is missing or empty fails the opening, naming it; with
    ``skip_missing=True`` it is left out with a warning and recorded in `skipped`.
    """

    name = "dataset"
    is_video = True
    default_split: Optional[str] = None

    def __init__(self, root: str | Path, split: Optional[str] = None, skip_missing: bool = False):
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.name}: dataset root not found: {self.root} ({self.layout_hint()})")
        self.split = split or self.default_split
        self.skip_missing = skip_missing
        # sequences left out because their ground truth is missing or empty (skip_missing=True): name → why
        self.skipped: dict[str, str] = {}
        self._names = self._with_ground_truth(self._list())
        self._cache: dict[str, Sequence] = {}

    def _with_ground_truth(self, names: list[str]) -> list[str]:
        """`names` whose annotation file exists and is not empty; the others fail the opening,
        or are left out with a warning when ``skip_missing`` (``--skip-missing``)."""
        missing: dict[str, str] = {}
        for name in names:
            path = self._annotation_path(name)
            if path is None:
                continue
            if not path.is_file():
                missing[name] = f"no {path}"
            elif path.stat().st_size == 0:
                missing[name] = f"empty {path}"
        if not missing:
            return names
        shown = "; ".join(f"{n}: {why}" for n, why in list(missing.items())[:3])
        more = f" (and {len(missing) - 3} more)" if len(missing) > 3 else ""
        if not self.skip_missing:
            raise DatasetError(f"{self.name}: {len(missing)} sequence(s) without ground truth under {self.root}: "
                               f"{shown}{more}; add the annotation, or pass --skip-missing "
                               f"(skip_missing=True) to leave them out")
        self.skipped = missing
        kept = [n for n in names if n not in missing]
        if not kept:
            raise DatasetError(f"{self.name}: no sequence under {self.root} has ground truth ({shown}{more})")
        warnings.warn(f"{self.name}: skipping {len(missing)} sequence(s) without ground truth "
                      f"(--skip-missing): {shown}{more}", stacklevel=4)
        return kept

    def describe(self) -> str:
        """One line naming the dataset, its root, the split applied and how many sequences it selects."""
        split = f", split '{self.split}'" if self.split else ""
        skipped = f", {len(self.skipped)} skipped without ground truth" if self.skipped else ""
        return f"{self.name} at {self.root}{split}: {len(self._names)} sequence(s){skipped}"

    def layout_hint(self) -> str:
        return "see FORMATS in the docs for the expected layout"

    def _list(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load(self, name: str) -> Sequence:  # pragma: no cover - abstract
        raise NotImplementedError

    def sequence_names(self) -> list[str]:
        return list(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, index: int | str) -> Sequence:
        name = self._names[index] if isinstance(index, int) else index
        if name not in self._cache:
            if name not in self._names:
                raise KeyError(f"{self.name}: no sequence named {name!r}")
            self._cache[name] = self._load(name)
        return self._cache[name]

    def sequences(self) -> list[Sequence]:
        return [self[i] for i in range(len(self))]

    def frame_count(self, name: str) -> int:
        """Frames of sequence `name`, equal to ``len(self[name])``; cheap where the reader names its
        annotation file (`_annotation_path`: its line count, nothing parsed, no frame listed), so a
        sharded benchmark run can balance 1,400 sequences without loading them."""
        if name in self._cache:
            return len(self._cache[name])
        path = self._annotation_path(name)
        if path is None or not path.is_file():
            return len(self[name])
        return len(read_lines(path))

    def _annotation_path(self, name: str) -> Optional[Path]:
        """The file with one annotation line per frame, where there is one (None: load to count)."""
        return None

    def texts(self) -> list[str]:
        """The non-empty descriptions of the dataset (to build a vocabulary from)."""
        return [s.text for s in self.sequences() if s.text]


# Frame formats OpenCV reads (TIFF and WebP included: skipping them would silently shorten a video).
FRAME_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def sorted_frames(folder: Path, exts: tuple[str, ...] = FRAME_EXTS) -> list[str]:
    """Image files of a folder in natural order (2.jpg before 10.jpg)."""
    def key(p: Path) -> list:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]

    return [str(p) for p in sorted((p for p in folder.iterdir() if p.suffix.lower() in exts), key=key)]


def frames_beyond(name: str, folder: Path, used: int, available: int) -> None:
    """Warn that `folder` holds frames after the last annotated one (they are not tracked or scored)."""
    if available > used:
        warnings.warn(f"sequence {name}: {available - used} frame(s) in {folder} after the last of its {used} "
                      f"ground-truth boxes are left out", stacklevel=3)


Loader = Callable[[str], Sequence]
