"""Visual Genome: ``region_descriptions.json`` and images split across ``images/VG_100K/`` and
``images/VG_100K_2/``; one sample per region, its phrase as text."""
from __future__ import annotations

from pathlib import Path

from .still import StillImageDataset, _read_json


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
