"""Video input/output around the `Tracker`: frame sources, drawing, and the ``allinone track`` loop."""
from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import Iterator, Optional, Sequence, Union

import cv2
import numpy as np

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp")


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def open_source(source: Union[str, int, Path]) -> Iterator[np.ndarray]:
    """RGB uint8 frames from a video file, a folder of images (natural order) or a webcam index."""
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return _capture_frames(cv2.VideoCapture(int(source)), f"webcam {source}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"video source not found: {path} (a video file, a folder of frames or a webcam index)")
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        if not files:
            raise ValueError(f"no frames ({', '.join(IMAGE_EXTS)}) in folder {path}")
        return _folder_frames(files)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video file {path}")
    return _capture_frames(cap, str(path))


def _folder_frames(files: Sequence[Path]) -> Iterator[np.ndarray]:
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot read frame {f}")
        yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _capture_frames(cap: "cv2.VideoCapture", name: str) -> Iterator[np.ndarray]:
    if not cap.isOpened():
        raise ValueError(f"cannot open {name}")
    try:
        while True:
            ok, img = cap.read()
            if not ok:
                break
            yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


def draw_box(frame: np.ndarray, box_xywh: Sequence[float], score: Optional[float] = None,
             caption: str = "") -> np.ndarray:
    """A copy of the RGB frame with the box, its score and a caption drawn on it."""
    out = np.ascontiguousarray(frame.copy())
    x, y, w, h = (int(round(v)) for v in box_xywh)
    cv2.rectangle(out, (x, y), (x + w, y + h), (0, 255, 0), 2)
    if score is not None:
        cv2.putText(out, f"{score:.2f}", (x, max(12, y - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 255, 0), 1, cv2.LINE_AA)
    if caption:
        cv2.rectangle(out, (0, out.shape[0] - 20), (out.shape[1], out.shape[0]), (0, 0, 0), -1)
        cv2.putText(out, caption[:90], (4, out.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out


class VideoWriter:
    """MP4 writer (``mp4v``) taking RGB frames; the size is fixed by the first frame."""

    def __init__(self, path: Union[str, Path], fps: float = 30.0):
        self.path, self.fps, self._writer, self._size = Path(path), fps, None, None

    def write(self, frame_rgb: np.ndarray) -> None:
        h, w = frame_rgb.shape[:2]
        if self._writer is None:
            self._size = (w, h)
            self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self._size)
        if (w, h) != self._size:
            frame_rgb = cv2.resize(frame_rgb, self._size)
        self._writer.write(cv2.cvtColor(frame_rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


def _display_available() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def track_video(source: Union[str, int, Path], *, out_dir: Union[str, Path], checkpoint: Optional[str] = None,
                text: Optional[str] = None, bbox: Optional[Sequence[float]] = None, show: bool = False,
                device: str = "cpu", precision: str = "fp32", progress: bool = True, fps: float = 30.0) -> dict:
    """Track through a video; write ``boxes.txt``, ``boxes.json`` and ``annotated.mp4`` into `out_dir`.

    boxes.txt is flushed every frame and boxes.json is written even when interrupted, so the
    results of the frames tracked so far stay on disk.
    """
    from tqdm import tqdm

    from .tracker import Tracker

    tracker = Tracker.from_checkpoint(checkpoint, device=device, precision=precision)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if show and not _display_available():
        warnings.warn("--show: no display found; not opening a window")
        show = False
    frames = open_source(source)
    writer = VideoWriter(out / "annotated.mp4", fps=fps)
    records: list[dict] = []
    summary = {"source": str(source), "text": text or "", "checkpoint": str(checkpoint or "bundled"), "frames": records}
    bar = tqdm(desc="track", unit="frame", disable=not progress)
    try:
        with open(out / "boxes.txt", "w") as txt:
            for i, frame in enumerate(frames):
                t0 = time.perf_counter()
                if i == 0:
                    tracker.initialize(frame, bbox=bbox, text=text)
                    box, score = tracker.state.box_xywh, 1.0
                else:
                    box, score = tracker.track(frame)
                ms = (time.perf_counter() - t0) * 1000
                records.append({"frame": i, "box": [round(float(v), 2) for v in box], "score": round(score, 4),
                                "ms": round(ms, 2)})
                txt.write(",".join(f"{v:.2f}" for v in box) + "\n")
                txt.flush()
                shown = draw_box(frame, box, score, text or "")
                writer.write(shown)
                if show:
                    cv2.imshow("allinone", cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                    if cv2.waitKey(1) & 0xFF == 27:
                        break
                bar.update(1)
                bar.set_postfix(fps=f"{1000.0 / max(ms, 1e-6):.1f}")
        if not records:
            raise ValueError(f"no frames could be read from {source}")
    finally:
        bar.close()
        writer.close()
        times = [r["ms"] for r in records[1:]]
        summary["fps"] = round(1000.0 * len(times) / max(sum(times), 1e-9), 2) if times else None
        (out / "boxes.json").write_text(json.dumps(summary, indent=1))
    return summary
