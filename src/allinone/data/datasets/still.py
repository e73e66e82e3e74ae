"""Still-image sets (COCO, RefCOCOg, Visual Genome) as one-frame sequences, one per annotation.

Reading RefCOCOg's ``refs(...).p`` means unpickling, and unpickling is code execution: a pickle can
name any importable callable. `load_refs_pickle` therefore uses a restricted unpickler that resolves
no global at all beyond a few inert builtins; a file that asks for anything else is refused with a
clear error. It is the only pickle this package reads.
"""
from __future__ import annotations

import io
import json
import pickle
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..sequence import DatasetError, Sequence
from .base import Dataset

_SAFE_BUILTINS = {("builtins", "set"), ("builtins", "frozenset"), ("__builtin__", "set"),
                  ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple")}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_BUILTINS:
            return {"set": set, "frozenset": frozenset, "dict": dict, "list": list, "tuple": tuple}[name]
        raise DatasetError(f"refused to unpickle global {module}.{name}: RefCOCOg refs hold only plain data")


def load_refs_pickle(path: Path) -> Any:
    """Load a RefCOCOg ``refs(google).p`` / ``refs(umd).p`` with the restricted unpickler."""
    data = Path(path).read_bytes()
    return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()


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


class COCO(StillImageDataset):
    """COCO 2017 instances (split 'train' or 'val'): text "category, supercategory"; crowd boxes skipped."""

    name = "coco"

    def layout_hint(self) -> str:
        return "expected <root>/annotations/instances_train2017.json and <root>/images/train2017/"

    def _records(self):
        split = self.split or "train"
        ann = _read_json(self.root / "annotations" / f"instances_{split}2017.json", "COCO annotations")
        images = {im["id"]: im for im in ann["images"]}
        cats = {c["id"]: f"{c['name']}, {c['supercategory']}" for c in ann["categories"]}
        folder = _first_dir(self.root / "images" / f"{split}2017", self.root / f"{split}2017")
        recs = {}
        for a in ann["annotations"]:
            if a.get("iscrowd", 0):
                continue
            im = images[a["image_id"]]
            recs[f"coco-{a['id']}"] = (str(folder / im["file_name"]), a["bbox"], cats[a["category_id"]],
                                       (im["width"], im["height"]))
        return recs


class RefCOCOg(StillImageDataset):
    """RefCOCOg: one sample per referring sentence (split 'train', 'val' or 'test'; refs 'umd' or 'google')."""

    name = "refcocog"

    def __init__(self, root: str | Path, split: Optional[str] = None, refs: str = "umd"):
        self.refs_kind = refs
        super().__init__(root, split)

    def layout_hint(self) -> str:
        return "expected <root>/refcocog/{refs(umd).p, instances.json} and <root>/images/train2014/"

    def _records(self):
        d = self.root / "refcocog"
        refs_path = d / f"refs({self.refs_kind}).p"
        if not refs_path.is_file():
            other = d / ("refs(google).p" if self.refs_kind == "umd" else "refs(umd).p")
            if not other.is_file():
                raise DatasetError(f"RefCOCOg refs not found: {refs_path}")
            refs_path = other
        refs = load_refs_pickle(refs_path)
        inst = _read_json(d / "instances.json", "RefCOCOg instances")
        images = {im["id"]: im for im in inst["images"]}
        anns = {a["id"]: a for a in inst["annotations"]}
        folder = _first_dir(self.root / "images" / "train2014", self.root / "train2014")
        split = self.split or "train"
        recs = {}
        for ref in refs:
            if ref.get("split") != split:
                continue
            im, ann = images[ref["image_id"]], anns[ref["ann_id"]]
            for k, sent in enumerate(ref["sentences"]):
                text = (sent.get("raw") or sent.get("sent") or "").strip()
                recs[f"refcocog-{ref['ref_id']}-{k}"] = (str(folder / im["file_name"]), ann["bbox"], text,
                                                         (im["width"], im["height"]))
        return recs


class VisualGenome(StillImageDataset):
    """Visual Genome regions: one sample per region, its phrase as text; images are looked up in
    both ``images/VG_100K/`` and ``images/VG_100K_2/``."""

    name = "visual_genome"

    def layout_hint(self) -> str:
        return "expected <root>/region_descriptions.json and <root>/images/{VG_100K,VG_100K_2}/"

    def _records(self):
        data = _read_json(self.root / "region_descriptions.json", "Visual Genome region descriptions")
        dirs = [self.root / "images" / "VG_100K", self.root / "images" / "VG_100K_2",
                self.root / "VG_100K", self.root / "VG_100K_2"]
        present: dict[str, Path] = {}
        for d in dirs:
            if d.is_dir():
                for p in d.iterdir():
                    present.setdefault(p.name, p)
        recs = {}
        for entry in data:
            for r in entry.get("regions", []):
                image = present.get(f"{r['image_id']}.jpg")
                if image is None:
                    continue  # region of an image not on disk
                recs[f"vg-{r['region_id']}"] = (str(image), [r["x"], r["y"], r["width"], r["height"]],
                                                r.get("phrase", "").strip(), None)
        return recs
