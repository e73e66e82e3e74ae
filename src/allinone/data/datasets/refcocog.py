"""RefCOCOg: ``images/train2014/`` (COCO 2014 images), ``refcocog/refs(umd).p`` or
``refs(google).p`` and ``refcocog/instances.json``; one sample per referring sentence.

Reading the refs file means unpickling, and unpickling is code execution: a pickle can name any
importable callable. `load_refs_pickle` therefore uses a restricted unpickler that resolves no global
beyond a few inert builtins; a file that asks for anything else is refused with a clear error. It
is the only pickle this package reads.
"""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Optional

from ..sequence import DatasetError
from .still import StillImageDataset, _first_dir, _read_json

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


class RefCOCOg(StillImageDataset):
    """RefCOCOg: one sample per referring sentence (split 'train', 'val' or 'test'; refs 'umd' or 'google')."""

    name = "refcocog"
    default_split = "train"

    def __init__(self, root: str | Path, split: Optional[str] = None, refs: str = "umd", skip_missing: bool = False):
        self.refs_kind = refs
        super().__init__(root, split, skip_missing=skip_missing)

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
        split = self.split
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
