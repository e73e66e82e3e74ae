"""Video input/output around the `Tracker`: frame sources, drawing, and the ``allinone track`` loop."""
from __future__ import annotations

import json
import re
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional, Sequence, Union

import cv2
import numpy as np

from ..processes import deferred_stop

if TYPE_CHECKING:
    from .tracker import Tracker

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
# files a folder of frames may hold besides its frames, left out without a word
_SIDE_FILES = (".txt", ".json", ".ini", ".label", ".csv", ".xml", ".yaml", ".yml", ".md", ".db", ".mp4")


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def _is_webcam(source: Union[str, int, Path]) -> bool:
    return isinstance(source, int) or (isinstance(source, str) and source.isdigit())


def _check_range(start: int, end: Optional[int]) -> None:
    if start < 0:
        raise ValueError(f"--start-frame must be 0 or more (frames are numbered from 0); got {start}")
    if end is not None and end <= start:
        raise ValueError(f"--end-frame ({end}) must be greater than --start-frame ({start}); the end frame "
                         "is excluded")


def open_source(source: Union[str, int, Path], start: int = 0, end: Optional[int] = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames from a video file, a folder of images (natural order) or a webcam index.

    start, end: only frames ``start .. end - 1`` (0-based; `end` excluded, None: to the last);
    the frames before `start` of a video are decoded and skipped, so the count is exact.
    """
    _check_range(start, end)
    if _is_webcam(source):
        return _capture_frames(cv2.VideoCapture(int(source)), f"webcam {source}", start, end)
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"video source not found: {path} (a video file, a folder of frames or a webcam index)")
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        if not files:
            raise ValueError(f"no frames ({', '.join(IMAGE_EXTS)}) in folder {path}")
        _warn_left_out(path)
        if start >= len(files):
            raise ValueError(f"--start-frame {start} is past the end of {path} ({len(files)} frames, 0 to "
                             f"{len(files) - 1})")
        return _folder_frames(files[start:end])
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video file {path}")
    return _capture_frames(cap, str(path), start, end)


def source_fps(source: Union[str, int, Path]) -> Optional[float]:
    """The frame rate a video file declares (None for a folder of frames, a webcam, or a file that
    declares none or an implausible one)."""
    if _is_webcam(source) or not Path(source).is_file():
        return None
    cap = cv2.VideoCapture(str(source))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS)) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return fps if 0.5 <= fps <= 1000.0 else None


def _warn_left_out(folder: Path) -> None:
    """Warn about files of a frame folder that are neither frames nor usual side files."""
    other = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() not in IMAGE_EXTS + _SIDE_FILES)
    if other:
        shown = ", ".join(other[:3]) + (f" and {len(other) - 3} more" if len(other) > 3 else "")
        warnings.warn(f"{folder}: {len(other)} file(s) that are not frames ({', '.join(IMAGE_EXTS)}) are "
                      f"left out: {shown}", stacklevel=3)


def _folder_frames(files: Sequence[Path]) -> Iterator[np.ndarray]:
    size, warned = None, False
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"cannot read frame {f}")
        if size is None:
            size = img.shape[:2]
        elif img.shape[:2] != size and not warned:
            warned = True
            warnings.warn(f"frame {f} is {img.shape[1]}x{img.shape[0]} but the first frame is {size[1]}x{size[0]}; "
                          "frames of one video should share a size (boxes are in each frame's own pixels, "
                          "the annotated video is resized to the first frame's size)", stacklevel=2)
        yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _capture_frames(cap: "cv2.VideoCapture", name: str, start: int = 0,
                    end: Optional[int] = None) -> Iterator[np.ndarray]:
    if not cap.isOpened():
        raise ValueError(f"cannot open {name}")
    try:
        for skipped in range(start):  # decoded and dropped: exact where seeking by index is not
            if not cap.grab():
                raise ValueError(f"--start-frame {start} is past the end of {name} ({skipped} frames)")
        index = start
        while end is None or index < end:
            ok, img = cap.read()
            if not ok:
                break
            index += 1
            yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    finally:
        cap.release()


FONT = cv2.FONT_HERSHEY_SIMPLEX


def drawing_scale(height: int, width: int) -> float:
    """How large lines and text are drawn on a frame: 1.0 for a 360-pixel short side (640x360),
    3.0 for 1080p, proportional in between and beyond."""
    return min(height, width) / 360.0


def _fit_text(text: str, font_scale: float, thickness: int, max_width: int) -> str:
    """`text`, cut (ending in "...") so that it is at most `max_width` pixels wide."""
    if cv2.getTextSize(text, FONT, font_scale, thickness)[0][0] <= max_width:
        return text
    lo, hi = 0, len(text)  # the longest prefix that fits with "..."
    while lo < hi:
        mid = (lo + hi + 1) // 2
        fits = cv2.getTextSize(text[:mid].rstrip() + "...", FONT, font_scale, thickness)[0][0] <= max_width
        lo, hi = (mid, hi) if fits else (lo, mid - 1)
    return text[:lo].rstrip() + "..."


def draw_box(frame: np.ndarray, box_xywh: Sequence[float], score: Optional[float] = None,
             caption: str = "") -> np.ndarray:
    """A copy of the RGB frame with the box, its score and a caption drawn on it.

    Line widths and the font grow with the frame (`drawing_scale`), so the score and the caption
    read the same on a 360p clip and on 4K footage; a caption too long for the frame is cut.
    """
    out = np.ascontiguousarray(frame.copy())
    height, width = out.shape[:2]
    scale = drawing_scale(height, width)
    font_scale, thick, pad = max(0.35, 0.5 * scale), max(1, round(scale)), max(3, round(4 * scale))
    x, y, w, h = (int(round(v)) for v in box_xywh)
    cv2.rectangle(out, (x, y), (x + w, y + h), (0, 255, 0), max(2, round(2 * scale)))
    if score is not None:
        label = f"{score:.2f}"
        (tw, th), _ = cv2.getTextSize(label, FONT, font_scale, thick)
        org = (min(max(0, x), max(0, width - tw)), max(th + pad, y - pad))
        cv2.putText(out, label, org, FONT, font_scale, (0, 255, 0), thick, cv2.LINE_AA)
    if caption:
        text = _fit_text(caption, font_scale, thick, width - 2 * pad)
        (_, th), base = cv2.getTextSize(text, FONT, font_scale, thick)
        bar = th + base + 2 * pad
        cv2.rectangle(out, (0, height - bar), (width, height), (0, 0, 0), -1)
        cv2.putText(out, text, (pad, height - pad - base), FONT, font_scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


# OpenCV's pip wheels have no H.264 encoder; browsers play VP8 in WebM, players everywhere play mp4v.
FOURCC_BY_SUFFIX = {".webm": "VP80", ".mp4": "mp4v", ".avi": "MJPG"}


class VideoWriter:
    """Video writer taking RGB frames; the codec follows the suffix (``.mp4``: mp4v, ``.webm``: VP8,
    which browsers play); the size is fixed by the first frame."""

    def __init__(self, path: Union[str, Path], fps: float = 30.0):
        self.path, self.fps, self._writer, self._size = Path(path), fps, None, None

    def write(self, frame_rgb: np.ndarray) -> None:
        h, w = frame_rgb.shape[:2]
        if self._writer is None:
            self._size = (w, h)
            fourcc = cv2.VideoWriter_fourcc(*FOURCC_BY_SUFFIX.get(self.path.suffix.lower(), "mp4v"))
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self._size)
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
                device: str = "cpu", precision: str = "fp32", progress: bool = True, fps: Optional[float] = None,
                tracker: Optional["Tracker"] = None, video_name: str = "annotated.mp4",
                total: Optional[int] = None, start_frame: int = 0, end_frame: Optional[int] = None,
                backend: str = "torch", threads: Optional[int] = None) -> dict:
    """Track through a video; write ``boxes.txt``, ``boxes.json`` and ``annotated.mp4`` into `out_dir`.

    boxes.txt is flushed every frame and boxes.json is written even when interrupted, so the
    results of the frames tracked so far stay on disk. An already loaded `tracker` is used instead
    of loading `checkpoint` (the web page keeps one); `video_name` picks the annotated video's name
    and codec (``annotated.webm`` plays in browsers); `total` (frames) gives the progress bar its end.
    fps: the annotated video's frame rate (default: the source video's own, 30 for frame folders
    and webcams). start_frame / end_frame: track frames ``start_frame .. end_frame - 1`` only
    (0-based, end excluded); `bbox` is the box in `start_frame`, and boxes.json numbers frames as
    the source does. backend / threads: as for `Tracker` (torch or onnxruntime; CPU threads).
    """
    from tqdm import tqdm

    from .tracker import Tracker

    if tracker is None:
        tracker = Tracker.from_checkpoint(checkpoint, device=device, precision=precision, backend=backend,
                                          threads=threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if show and not _display_available():
        warnings.warn("--show: no display found; not opening a window")
        show = False
    frames = open_source(source, start=start_frame, end=end_frame)
    fps = fps or source_fps(source) or 30.0
    writer = VideoWriter(out / video_name, fps=fps)
    records: list[dict] = []
    summary = {"source": str(source), "text": text or "", "checkpoint": str(checkpoint or "bundled"),
               "video_fps": fps, "start_frame": start_frame, "frames": records}
    bar = tqdm(desc="track", unit="frame", total=total, disable=not progress)
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
                shown = draw_box(frame, box, score, text or "")
                with deferred_stop():  # a stop request never leaves boxes.txt/json and the video unequal
                    records.append({"frame": start_frame + i, "box": [round(float(v), 2) for v in box],
                                    "score": round(score, 4), "ms": round(ms, 2)})
                    txt.write(",".join(f"{v:.2f}" for v in box) + "\n")
                    txt.flush()
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
