"""Data: dataset readers in the real benchmarks' layouts, SynthVL, crops and training pairs."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from .sequence import AnnotationError, DatasetError, FrameReadError, Sequence
from .datasets.base import Dataset


def _registry() -> dict[str, Callable[..., Dataset]]:
    from .datasets.coco import COCO
    from .datasets.got10k import GOT10k
    from .datasets.lasot import LaSOT, LaSOTExt, SynthVL
    from .datasets.otb99l import OTB99L
    from .datasets.pseudo_tracks import PseudoTracks
    from .datasets.refcocog import RefCOCOg
    from .datasets.tnl2k import TNL2K
    from .datasets.trackingnet import TrackingNet
    from .datasets.visual_genome import VisualGenome
    from .datasets.webuav3m import WebUAV3M

    return {"lasot": LaSOT, "lasot_ext": LaSOTExt, "synthvl": SynthVL, "tnl2k": TNL2K, "otb99l": OTB99L,
            "webuav3m": WebUAV3M, "got10k": GOT10k, "trackingnet": TrackingNet, "coco": COCO,
            "refcocog": RefCOCOg, "visual_genome": VisualGenome, "pseudo_tracks": PseudoTracks}


# The names of the project's interface.
DATASET_NAMES = ("lasot", "lasot_ext", "tnl2k", "otb99l", "webuav3m", "got10k", "trackingnet", "coco",
                 "refcocog", "visual_genome", "synthvl", "pseudo_tracks")


def open_dataset(name: str, root: str | Path, split: Optional[str] = None, **kwargs) -> Dataset:
    """Open the dataset `name` (see `DATASET_NAMES`) stored under `root`.

    kwargs go to the reader; every reader takes ``skip_missing=True``, which leaves out (with a
    warning) the sequences whose ground truth is missing or empty instead of failing on them.
    """
    readers = _registry()
    if name not in readers:
        raise DatasetError(f"unknown dataset '{name}'; known: {', '.join(DATASET_NAMES)}")
    return readers[name](root, split=split, **kwargs)


__all__ = ["open_dataset", "Dataset", "Sequence", "DatasetError", "AnnotationError", "FrameReadError",
           "DATASET_NAMES"]
