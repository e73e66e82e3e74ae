"""LaSOT, LaSOT_ext and SynthVL: ``<root>/<class>/<class>-<k>/`` with ``img/%08d.jpg``,
``groundtruth.txt`` (comma-separated), ``full_occlusion.txt`` and ``out_of_view.txt`` (one line of
0/1 flags) and ``nlp.txt`` (one sentence). A frame is visible unless either flag is 1.

LaSOT's protocol-II split: the 280 test sequences below (4 per class), the other 1,120 train.
LaSOT_ext (150 sequences, 15 classes) is a test set. SynthVL writes the same layout, one root per
split, so every sequence found under its root belongs to that split.

A sequence is a folder ``<root>/<class>/<seq>/`` holding ``img/`` or ``groundtruth.txt``; one
without ground truth is an error (or skipped, ``skip_missing``), a name under two class folders is
an error, and a split that selects none of the sequences found fails suggesting ``split='all'``.
The frame folder is listed when a sequence is loaded: a missing annotated frame is an error, frames
after the last annotated one are left out with a warning.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from ..sequence import DatasetError, FrameReadError, Sequence
from .base import Dataset, frames_beyond, read_boxes, read_flags, read_text

_TEST = """airplane 1 9 13 15|basketball 1 6 7 11|bear 2 4 6 17|bicycle 2 7 9 18|bird 2 3 15 17|boat 3 4 12 17|
book 3 10 11 19|bottle 1 12 14 18|bus 2 5 17 19|car 2 6 9 17|cat 1 3 18 20|cattle 2 7 12 13|spider 14 16 18 20|
coin 3 6 7 18|crab 3 6 12 18|surfboard 12 4 5 8|cup 1 4 7 17|deer 4 8 10 14|dog 1 7 15 19|guitar 3 8 10 16|
person 1 5 10 12|pig 2 10 13 18|rubicCube 1 6 14 19|swing 10 14 17 20|drone 13 15 2 7|pool 12 15 3 7|
rabbit 10 13 17 19|racing 10 15 16 20|robot 1 19 5 8|sepia 13 16 6 8|sheep 3 5 7 9|skateboard 16 19 3 8|
tank 14 16 6 9|tiger 12 18 4 6|train 1 11 20 7|truck 16 3 6 7|turtle 16 5 8 9|umbrella 17 19 2 9|yoyo 15 17 19 7|
zebra 10 14 16 17|elephant 1 12 16 18|goldfish 3 7 8 10|hat 1 2 5 18|kite 4 6 10 15|motorcycle 1 3 9 18|
mouse 1 8 9 17|flag 3 9 5 2|frog 3 4 20 9|gametarget 1 2 7 13|hand 2 3 9 16|helmet 5 11 13 19|
licenseplate 6 12 13 15|electricfan 1 10 18 20|chameleon 3 6 11 20|crocodile 3 4 10 14|gecko 1 5 16 19|
fox 2 3 5 20|giraffe 2 10 13 15|gorilla 4 6 9 13|hippo 1 7 9 20|horse 1 4 12 15|kangaroo 2 5 11 14|
leopard 1 7 16 20|lion 1 5 12 20|lizard 1 3 6 13|microphone 2 6 14 16|monkey 3 4 9 17|shark 2 3 5 6|
squirrel 8 11 13 19|volleyball 1 13 18 19"""


def lasot_test_sequences() -> list[str]:
    """The 280 sequences of LaSOT's protocol-II test split."""
    names = []
    for entry in _TEST.replace("\n", "").split("|"):
        cls, *ks = entry.split()
        names += [f"{cls}-{k}" for k in ks]
    return names


class LaSOT(Dataset):
    """LaSOT (split 'train', 'test' or 'all'; default 'test'), LaSOT layout."""

    name = "lasot"
    default_split = "test"

    def __init__(self, root: str | Path, split: Optional[str] = None, skip_missing: bool = False):
        split = split or self.default_split
        if split not in ("train", "test", "all"):
            raise DatasetError(f"{self.name}: split must be train, test or all, got {split!r}")
        super().__init__(root, split, skip_missing=skip_missing)

    def layout_hint(self) -> str:
        return "expected <root>/<class>/<class>-<k>/{img/00000001.jpg, groundtruth.txt, nlp.txt}"

    def _found(self) -> dict[str, Path]:
        """Sequence name → folder: every ``<root>/<class>/<seq>/`` holding ``img/`` or ``groundtruth.txt``."""
        found: dict[str, Path] = {}
        for cls_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for seq in sorted(p for p in cls_dir.iterdir() if p.is_dir()):
                if not ((seq / "img").is_dir() or (seq / "groundtruth.txt").exists()):
                    continue
                if seq.name in found:
                    raise DatasetError(f"{self.name}: sequence {seq.name} is in two class folders, "
                                       f"{found[seq.name]} and {seq}; keep one")
                found[seq.name] = seq
        if not found:
            raise DatasetError(f"{self.name}: no sequences under {self.root} ({self.layout_hint()})")
        return found

    def _list(self) -> list[str]:
        self._folders = self._found()
        found = list(self._folders)
        if self.split == "all":
            return found
        test = set(lasot_test_sequences())
        names = [n for n in found if (n in test) == (self.split == "test")]
        if not names:
            raise DatasetError(
                f"{self.name}: split '{self.split}' (LaSOT protocol II: 280 named test sequences, the rest "
                f"train) selects none of the {len(found)} sequence(s) under {self.root} (e.g. {found[0]}); "
                f"pass --split all (split='all') to use every sequence")
        return names

    def texts(self) -> list[str]:
        """The descriptions alone (``nlp.txt``), without parsing the annotations."""
        texts = (read_text(self._folders[n] / "nlp.txt") for n in self._names)
        return [t for t in texts if t]

    def _annotation_path(self, name: str) -> Path:
        return self._folders[name] / "groundtruth.txt"

    def _load(self, name: str) -> Sequence:
        folder = self._folders[name]
        boxes = read_boxes(folder / "groundtruth.txt")
        n = len(boxes)
        visible = np.ones(n, dtype=bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            if (folder / flag_file).exists():
                visible &= ~read_flags(folder / flag_file, n)
        return Sequence(name=name, frames=numbered_frames(folder / "img", n, name), boxes=boxes,
                        visible=visible, text=read_text(folder / "nlp.txt"), dataset=self.name,
                        class_name=folder.parent.name)


def numbered_frames(folder: Path, n: int, name: str, pattern: str = "{:08d}.jpg", first: int = 1) -> list[str]:
    """``folder/00000001.jpg`` … for `n` annotated frames, checked against the folder's listing:
    a missing one raises `FrameReadError` (naming it), frames after the last annotated one are
    left out with a warning. Without the folder (an annotations-only copy, enough to score results)
    the paths are returned unchecked; reading one then fails naming it."""
    names = [pattern.format(i) for i in range(first, first + n)]
    if not folder.is_dir():
        return [str(folder / f) for f in names]
    with os.scandir(folder) as entries:
        present = {e.name for e in entries}
    missing = [f for f in names if f not in present]
    if missing:
        raise FrameReadError(f"sequence {name}: {len(missing)} of its {n} annotated frames are missing, "
                             f"first {folder / missing[0]}")
    extra = 0
    while pattern.format(first + n + extra) in present:
        extra += 1
    frames_beyond(name, folder, n, n + extra)
    return [str(folder / f) for f in names]


class LaSOTExt(LaSOT):
    """LaSOT_ext: 150 test sequences of 15 new classes, LaSOT layout (often under
    ``LaSOT_extension_subset/``, which is looked into when the root holds it)."""

    name = "lasot_ext"
    default_split = "all"

    def __init__(self, root: str | Path, split: Optional[str] = None, skip_missing: bool = False):
        root = Path(root)
        if (root / "LaSOT_extension_subset").is_dir():
            root = root / "LaSOT_extension_subset"
        super().__init__(root, "all" if split in (None, "test") else split, skip_missing=skip_missing)


class SynthVL(LaSOT):
    """SynthVL (``allinone synth``): LaSOT layout, one root per split, all sequences used."""

    name = "synthvl"
    default_split = "all"

    def __init__(self, root: str | Path, split: Optional[str] = None, skip_missing: bool = False):
        super().__init__(root, "all", skip_missing=skip_missing)
