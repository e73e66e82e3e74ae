"""Plug-ins for third-party toolkits: the VOT toolkit (TraX protocol) and the got10k toolkit.

VOT: ``allinone vot --checkpoint PATH`` is a TraX server (``vot-trax`` package). Declare it in a VOT
workspace's ``trackers.ini``::

    [allinone]
    label = allinone
    protocol = traxpython
    command = allinone.evaluation.vot_entry
    paths = <any folder; the package is installed>
    env_ALLINONE_CHECKPOINT = /path/to/model.safetensors

The toolkit sends image paths; it has no per-sequence text channel, so the description is read
from the sequence folder: the first of ``nlp.txt``, ``language.txt``, ``description.txt`` found in
the frame's folder or its parents up to the sequence folder (empty → box-only tracking).

got10k: `GOT10kTracker` has the toolkit's ``init(image, box)`` / ``update(image)`` methods and
``is_deterministic = True`` (one repetition); it subclasses ``got10k.trackers.Tracker`` when the
got10k package is installed, so ``tracker.track(img_files, box)`` and its experiments work.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

TEXT_FILES = ("nlp.txt", "language.txt", "description.txt")


def find_sequence_text(frame_path: str, levels: int = 3) -> str:
    """Description of the sequence a frame belongs to ("" when there is none)."""
    folder = Path(frame_path).resolve().parent
    for _ in range(levels):
        for name in TEXT_FILES:
            p = folder / name
            if p.is_file():
                lines = p.read_text(encoding="utf-8-sig", errors="replace").splitlines()
                return lines[0].strip() if lines else ""
        folder = folder.parent
    return ""


def _read_rgb(path: str) -> np.ndarray:
    import cv2

    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"cannot read frame {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def run_vot_server(checkpoint: Optional[str] = None, device: str = "cpu", precision: str = "fp32") -> None:
    """Serve the TraX protocol on the channel the toolkit set up (stdin/stdout or TRAX_SOCKET)."""
    import trax

    from ..track import Tracker
    from ..track.tracker import default_checkpoint

    checkpoint = checkpoint or os.environ.get("ALLINONE_CHECKPOINT") or default_checkpoint()
    tracker = Tracker.from_checkpoint(checkpoint, device=device, precision=precision)
    with trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], ["color"], tracker_name="allinone",
                     tracker_description="All-in-One vision-language tracker") as server:
        while True:
            request = server.wait()
            if request.type in ("quit", trax.TraxStatus.QUIT) or request.image is None:
                break
            path = request.image["color"].path()
            frame = _read_rgb(path)
            if request.type in ("initialize", trax.TraxStatus.INITIALIZE):
                x, y, w, h = request.objects[0][0].bounds()
                tracker.initialize(frame, bbox=(x, y, w, h), text=find_sequence_text(path) or None)
                box, score = np.array([x, y, w, h], dtype=float), 1.0
            else:
                box, score = tracker.track(frame)
            region = trax.Rectangle.create(*(float(v) for v in box))
            server.status([(region, {"confidence": float(score)})])


try:  # the got10k toolkit is optional
    from got10k.trackers import Tracker as _GotBase
except ImportError:  # pragma: no cover - exercised when got10k is absent
    class _GotBase:  # type: ignore[no-redef]
        def __init__(self, name: str, is_deterministic: bool = False):
            self.name, self.is_deterministic = name, is_deterministic


class GOT10kTracker(_GotBase):
    """got10k-toolkit adapter: ``init(image, box)`` / ``update(image) -> box`` on PIL images.

    text: an optional description used for every sequence (the got10k toolkit has no text channel).
    """

    def __init__(self, checkpoint: Optional[str] = None, name: str = "allinone", device: str = "cpu",
                 precision: str = "fp32", text: Optional[str] = None):
        super().__init__(name=name, is_deterministic=True)
        from ..track import Tracker
        from ..track.tracker import default_checkpoint

        self.tracker = Tracker.from_checkpoint(checkpoint or default_checkpoint(), device=device, precision=precision)
        self.text = text

    @staticmethod
    def _rgb(image: Any) -> np.ndarray:
        arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
        return np.ascontiguousarray(arr, dtype=np.uint8)

    def init(self, image: Any, box: Any) -> None:
        self.tracker.initialize(self._rgb(image), bbox=np.asarray(box, dtype=float), text=self.text)

    def update(self, image: Any) -> np.ndarray:
        box, _ = self.tracker.track(self._rgb(image))
        return np.asarray(box, dtype=float)
