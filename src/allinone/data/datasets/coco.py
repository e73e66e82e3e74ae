"""COCO 2017: ``images/train2017/`` and ``annotations/instances_train2017.json``; one sample per
non-crowd instance, text "category, supercategory"."""
from __future__ import annotations

from .still import StillImageDataset, _first_dir, _read_json


class COCO(StillImageDataset):
    """COCO 2017 instances (split 'train' or 'val'): text "category, supercategory"; crowd boxes skipped."""

    name = "coco"
    default_split = "train"

    def layout_hint(self) -> str:
        return "expected <root>/annotations/instances_train2017.json and <root>/images/train2017/"

    def _records(self):
        split = self.split
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
