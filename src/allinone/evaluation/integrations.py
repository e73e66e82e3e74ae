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
got10k package is installed, so ``tracker.track(img_files, box)`` and its experiments work. The
toolkit has no text channel either: `track` looks the description up next to the sequence's
frames with the same `find_sequence_text` as the VOT entry.
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


class ToolkitError(ValueError):
    """A toolkit integration cannot run: its package is missing, or no toolkit is at the other end."""


_NOT_BY_HAND = ("allinone vot speaks the TraX protocol to the VOT toolkit, which starts it (declare it in "
                "the workspace's trackers.ini, see the README); it is not run by hand")


def _import_trax() -> Any:
    try:
        import trax
    except ImportError:
        raise ToolkitError("allinone vot needs the vot-trax package: pip install 'allinone[toolkits]'") from None
    return trax


def run_vot_server(checkpoint: Optional[str] = None, device: str = "cpu", precision: str = "fp32",
                   backend: str = "torch", threads: Optional[int] = None) -> None:
    """Serve the TraX protocol on the channel the toolkit set up (stdin/stdout or TRAX_SOCKET).

    Started from a terminal (no ``TRAX_SOCKET``, standard input a terminal) it stops at once with
    a `ToolkitError` instead of waiting forever for a toolkit that is not there.
    """
    import sys

    trax = _import_trax()
    from ..track import Tracker
    from ..track.tracker import default_checkpoint

    if "TRAX_SOCKET" not in os.environ and sys.stdin is not None and sys.stdin.isatty():
        raise ToolkitError(_NOT_BY_HAND)
    checkpoint = checkpoint or os.environ.get("ALLINONE_CHECKPOINT") or default_checkpoint()
    tracker = Tracker.from_checkpoint(checkpoint, device=device, precision=precision, backend=backend,
                                      threads=threads)
    try:
        server = trax.Server([trax.Region.RECTANGLE], [trax.Image.PATH], ["color"], tracker_name="allinone",
                             tracker_description="All-in-One vision-language tracker")
    except trax.TraxException as exc:
        raise ToolkitError(f"no TraX client answered ({exc}); {_NOT_BY_HAND}") from None
    reason = None
    try:  # not `with server`: its exit prints a traceback for every exception
        _serve(trax, server, tracker)
    except Exception as exc:
        reason = " ".join(str(exc).split())
        raise
    finally:
        try:
            server.quit(reason=reason)
        except trax.TraxException:
            pass  # the connection is gone already


def _serve(trax: Any, server: Any, tracker: Any) -> None:
    """Answer the toolkit's requests until it quits: initialise on a box, track on every frame."""
    while True:
        try:
            request = server.wait()
        except trax.TraxException as exc:
            raise ToolkitError(f"the TraX connection failed ({exc}); {_NOT_BY_HAND}") from None
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

        def track(self, img_files: Any, box: Any, visualize: bool = False) -> tuple[np.ndarray, np.ndarray]:
            """got10k's loop: init on frame 1, update on the others → (boxes (N, 4), seconds (N,))."""
            import time

            boxes, times = np.zeros((len(img_files), 4)), np.zeros(len(img_files))
            boxes[0] = box
            for f, img_file in enumerate(img_files):
                image = _read_rgb(str(img_file))
                start = time.time()
                if f == 0:
                    self.init(image, box)
                else:
                    boxes[f] = self.update(image)
                times[f] = time.time() - start
            return boxes, times


class GOT10kTracker(_GotBase):
    """got10k-toolkit adapter: ``init(image, box)`` / ``update(image) -> box`` on PIL images.

    text: None (default) uses each sequence's own description, found by `track` next to its frames
    (``nlp.txt`` / ``language.txt`` / ``description.txt``, as the VOT entry does; none → box only);
    a string is used for every sequence instead ("" forces box-only tracking).
    """

    def __init__(self, checkpoint: Optional[str] = None, name: str = "allinone", device: str = "cpu",
                 precision: str = "fp32", text: Optional[str] = None):
        super().__init__(name=name, is_deterministic=True)
        from ..track import Tracker
        from ..track.tracker import default_checkpoint

        self.tracker = Tracker.from_checkpoint(checkpoint or default_checkpoint(), device=device, precision=precision)
        self.text = text
        self.sequence_text = ""  # the description `track` found for the sequence it runs

    def track(self, img_files: Any, box: Any, visualize: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The toolkit's loop over one sequence, with the sequence's own description as text."""
        self.sequence_text = find_sequence_text(str(img_files[0])) if len(img_files) else ""
        try:
            return super().track(img_files, box, visualize=visualize)
        finally:
            self.sequence_text = ""

    @staticmethod
    def _rgb(image: Any) -> np.ndarray:
        arr = np.asarray(image.convert("RGB") if hasattr(image, "convert") else image)
        return np.ascontiguousarray(arr, dtype=np.uint8)

    def init(self, image: Any, box: Any) -> None:
        text = self.text if self.text is not None else self.sequence_text
        self.tracker.initialize(self._rgb(image), bbox=np.asarray(box, dtype=float), text=text or None)

    def update(self, image: Any) -> np.ndarray:
        box, _ = self.tracker.track(self._rgb(image))
        return np.asarray(box, dtype=float)
