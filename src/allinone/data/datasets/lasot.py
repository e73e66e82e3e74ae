"""LaSOT, LaSOT_ext and SynthVL: ``<root>/<class>/<class>-<k>/`` with ``img/%08d.jpg``,
``groundtruth.txt`` (comma-separated), ``full_occlusion.txt`` and ``out_of_view.txt`` (one line of
0/1 flags) and ``nlp.txt`` (one sentence). A frame is visible unless either flag is 1.

LaSOT's protocol-II split: the 280 test sequences below (4 per class), the other 1,120 train.
LaSOT_ext (150 sequences, 15 classes) is a test set. SynthVL writes the same layout, one root per
split, so every sequence found under its root belongs to that split.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset, read_boxes, read_flags, read_text

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

    def __init__(self, root: str | Path, split: Optional[str] = None):
        split = split or self.default_split
        if split not in ("train", "test", "all"):
            raise DatasetError(f"{self.name}: split must be train, test or all, got {split!r}")
        super().__init__(root, split)

    def layout_hint(self) -> str:
        return "expected <root>/<class>/<class>-<k>/{img/00000001.jpg, groundtruth.txt, nlp.txt}"

    def _found(self) -> list[str]:
        found = []
        for cls_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for seq in sorted(p for p in cls_dir.iterdir() if p.is_dir() and (p / "groundtruth.txt").exists()):
                found.append(seq.name)
        if not found:
            raise DatasetError(f"{self.name}: no sequences under {self.root} ({self.layout_hint()})")
        return found

    def _list(self) -> list[str]:
        found = self._found()
        if self.split == "all":
            return found
        test = set(lasot_test_sequences())
        return [n for n in found if (n in test) == (self.split == "test")]

    def texts(self) -> list[str]:
        """The descriptions alone (``nlp.txt``), without parsing the annotations."""
        texts = (read_text(self.root / n.rsplit("-", 1)[0] / n / "nlp.txt") for n in self._names)
        return [t for t in texts if t]

    def _load(self, name: str) -> Sequence:
        cls = name.rsplit("-", 1)[0]
        folder = self.root / cls / name
        boxes = read_boxes(folder / "groundtruth.txt")
        n = len(boxes)
        visible = np.ones(n, dtype=bool)
        for flag_file in ("full_occlusion.txt", "out_of_view.txt"):
            if (folder / flag_file).exists():
                visible &= ~read_flags(folder / flag_file, n)
        frames = [str(folder / "img" / f"{i:08d}.jpg") for i in range(1, n + 1)]
        return Sequence(name=name, frames=frames, boxes=boxes, visible=visible,
                        text=read_text(folder / "nlp.txt"), dataset=self.name, class_name=cls)


class LaSOTExt(LaSOT):
    """LaSOT_ext: 150 test sequences of 15 new classes, LaSOT layout (often under
    ``LaSOT_extension_subset/``, which is looked into when the root holds it)."""

    name = "lasot_ext"
    default_split = "all"

    def __init__(self, root: str | Path, split: Optional[str] = None):
        root = Path(root)
        if (root / "LaSOT_extension_subset").is_dir():
            root = root / "LaSOT_extension_subset"
        super().__init__(root, "all" if split in (None, "test") else split)


class SynthVL(LaSOT):
    """SynthVL (``allinone synth``): LaSOT layout, one root per split, all sequences used."""

    name = "synthvl"
    default_split = "all"

    def __init__(self, root: str | Path, split: Optional[str] = None):
        super().__init__(root, "all")
