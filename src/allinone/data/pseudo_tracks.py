"""Training sequences from real footage: detect, link into tracks, keep the consistent ones, describe.

``make_pseudo_tracks(sources, out, detector)`` turns videos (files or folders of frames) and still
images into sequences in the LaSOT layout (``<out>/<class>/<class>-<k>/img/00000001.jpg``,
``groundtruth.txt``, ``nlp.txt``, ``full_occlusion.txt``, ``out_of_view.txt``), read with
``open_dataset("pseudo_tracks", out)`` (or ``open_dataset("lasot", out, split="all")``); see docs/realdata.md:

1. every frame (downscaled to ``max_side``) goes through a COCO detector (`coco_detector.CocoDetector`
   or any callable ``frame_rgb -> list[Detection]``); shot changes are found from grey histograms;
2. detections are linked into tracks greedily by IoU with each track's predicted box, same class
   only, bridging up to ``max_gap`` missed frames (interpolated);
3. tracks are cut where the box jumps, changes scale or aspect too fast, and the pieces are kept
   only when long enough, confidently and densely detected, not tiny, not filling the frame and
   not drifting (area changing more than 3x or aspect ratio 2x within 10 frames);
4. same-class tracks on the same object at the same time are reduced to the best one;
5. each kept track gets a description from its class, the dominant colour of its box (HSV),
   its position in the first frame and its motion ("the person in red on the left, moving right";
   `track_text`).

A still image gives one one-frame sequence per confident detection. ``<out>/manifest.tsv`` lists
every sequence with its source, first frame (0-based, in the source's own numbering) and length;
``<out>/config.json`` holds the settings. Boxes are in pixels of the written (downscaled) frames.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Union

import cv2
import numpy as np

from .coco_detector import Detection
from .track_text import describe, dominant_colour

Detector = Callable[[np.ndarray], list[Detection]]
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".mpeg", ".mpg", ".webm", ".m4v")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".pgm", ".ppm", ".tif", ".tiff", ".webp")


@dataclass
class PseudoTrackConfig:
    """Thresholds of the pipeline (boxes in pixels of the downscaled frames)."""

    det_score: float = 0.3  # detections below this are ignored
    link_iou: float = 0.3  # least IoU between a track's predicted box and a detection to link them
    max_gap: int = 3  # missed frames bridged inside a track (boxes interpolated)
    min_length: int = 20  # frames of a kept track
    min_mean_score: float = 0.5  # mean detector score over the frames with a detection
    min_detected: float = 0.8  # share of a track's frames with a detection
    max_jump: float = 0.5  # centre step per frame / sqrt(w * h)
    max_scale_step: float = 0.3  # |log(area ratio)| per frame
    max_aspect_step: float = 0.3  # |log(aspect-ratio ratio)| per frame
    max_area_change: float = 3.0  # largest area ratio between boxes 10 frames apart (drift check)
    max_aspect_change: float = 2.0  # largest aspect-ratio ratio between boxes 10 frames apart
    min_side: float = 12.0  # median box side (pixels)
    max_area: float = 0.8  # median box area / frame area
    smooth: int = 3  # centred moving average over the boxes (1: none)
    still_score: float = 0.6  # least score of a detection kept from a still image
    max_side: int = 640  # frames are downscaled so that their longer side is at most this
    frame_step: int = 1  # use every n-th frame of a video
    cut_threshold: float = 0.5  # Bhattacharyya distance of grey histograms that starts a new shot
    jpeg_quality: int = 90


@dataclass
class Track:
    """A linked track: frame indices (increasing, possibly with gaps), boxes, scores, class."""

    label: str
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)


# --------------------------------------------------------------------------- reading


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def source_kind(source: Union[str, Path]) -> str:
    """'still' (one image file), 'video' (a video file) or 'frames' (a folder of images)."""
    path = Path(source)
    if path.is_dir():
        return "frames"
    if not path.is_file():
        raise FileNotFoundError(f"source not found: {path} (a video file, a folder of frames or an image)")
    if path.suffix.lower() in IMAGE_EXTS:
        return "still"
    if path.suffix.lower() in VIDEO_EXTS:
        return "video"
    raise ValueError(f"{path}: unknown file type {path.suffix!r} (videos: {', '.join(VIDEO_EXTS)}; "
                     f"images: {', '.join(IMAGE_EXTS)})")


def _read_image(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)  # grey images come back as 3 equal channels
    if img is None:
        raise ValueError(f"cannot read image {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _downscale(frame: np.ndarray, max_side: int) -> np.ndarray:
    h, w = frame.shape[:2]
    s = max_side / max(h, w)
    if s >= 1:
        return frame
    return cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)


def read_frames(source: Union[str, Path], max_side: int = 640, frame_step: int = 1) -> Iterator[np.ndarray]:
    """RGB uint8 frames of a video file, a folder of images (natural order) or one image,
    downscaled so that the longer side is at most `max_side`, every `frame_step`-th frame."""
    path, kind = Path(source), source_kind(source)
    if kind == "still":
        yield _downscale(_read_image(path), max_side)
        return
    if kind == "frames":
        files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_EXTS)}) in folder {path}")
        for f in files[::frame_step]:
            yield _downscale(_read_image(f), max_side)
        return
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"cannot open video file {path}")
    try:
        i = 0
        while True:
            ok, img = cap.read()
            if not ok:
                break
            if i % frame_step == 0:
                yield _downscale(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), max_side)
            i += 1
    finally:
        cap.release()


def _grey_hist(frame: np.ndarray) -> np.ndarray:
    small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (64, 48), interpolation=cv2.INTER_AREA)
    return cv2.calcHist([small], [0], None, [32], [0, 256])


def is_shot_change(prev_hist: Optional[np.ndarray], hist: np.ndarray, threshold: float) -> bool:
    """Whether two consecutive frames' grey histograms differ enough to be a cut."""
    if prev_hist is None:
        return False
    return cv2.compareHist(prev_hist, hist, cv2.HISTCMP_BHATTACHARYYA) > threshold


# --------------------------------------------------------------------------- linking


def iou_xywh(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    iw = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    ih = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, iw) * max(0.0, ih)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _inside(inner: np.ndarray, outer: np.ndarray) -> float:
    """Share of box `inner`'s area that lies in box `outer`."""
    iw = min(inner[0] + inner[2], outer[0] + outer[2]) - max(inner[0], outer[0])
    ih = min(inner[1] + inner[3], outer[1] + outer[3]) - max(inner[1], outer[1])
    return max(0.0, iw) * max(0.0, ih) / max(1e-9, inner[2] * inner[3])


def suppress_cross_class(dets: list[Detection], iou: float = 0.7) -> list[Detection]:
    """Drop a detection overlapping a better-scored one of another class (car vs truck), and group
    boxes: a box holding two or more separate detections of one class (70 % inside it; a crowd)."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda d: -d.score):
        if all(iou_xywh(d.box_xywh, k.box_xywh) < iou for k in kept):
            kept.append(d)
    groups = set()
    for i, d in enumerate(kept):
        inner = [o for j, o in enumerate(kept) if j != i and _inside(o.box_xywh, d.box_xywh) > 0.7]
        for label in {o.label for o in inner}:
            separate: list[Detection] = []  # nested detections of one object count once
            for o in (o for o in inner if o.label == label):
                if all(max(_inside(o.box_xywh, p.box_xywh), _inside(p.box_xywh, o.box_xywh)) < 0.5 for p in separate):
                    separate.append(o)
            if len(separate) >= 2:
                groups.add(i)
    return [d for i, d in enumerate(kept) if i not in groups]


def _predict(track: Track, frame: int) -> np.ndarray:
    """The track's box moved to `frame` at its last velocity."""
    box = track.boxes[-1]
    if len(track.boxes) < 2:
        return box
    vel = (track.boxes[-1] - track.boxes[-2]) / (track.frames[-1] - track.frames[-2])
    return box + vel * (frame - track.frames[-1]) * np.array([1, 1, 0, 0])


def link_detections(per_frame: Sequence[list[Detection]], cfg: PseudoTrackConfig,
                    cuts: Sequence[int] = ()) -> list[Track]:
    """Greedy IoU linking of per-frame detections into same-class tracks (a cut ends all tracks)."""
    done: list[Track] = []
    active: list[Track] = []
    cut_set = set(cuts)
    for t, dets in enumerate(per_frame):
        if t in cut_set:
            done += active
            active = []
        done += [tr for tr in active if t - tr.frames[-1] > cfg.max_gap + 1]
        active = [tr for tr in active if t - tr.frames[-1] <= cfg.max_gap + 1]
        dets = [d for d in suppress_cross_class(dets) if d.score >= cfg.det_score]
        pairs = sorted(((iou_xywh(_predict(tr, t), d.box_xywh), i, j) for i, tr in enumerate(active)
                        for j, d in enumerate(dets) if tr.label == d.label), reverse=True)
        used_t, used_d = set(), set()
        for iou, i, j in pairs:
            if iou < cfg.link_iou or i in used_t or j in used_d:
                continue
            used_t.add(i), used_d.add(j)
            active[i].frames.append(t), active[i].boxes.append(dets[j].box_xywh), active[i].scores.append(dets[j].score)
        for j, d in enumerate(dets):
            if j not in used_d:
                active.append(Track(d.label, [t], [d.box_xywh], [d.score]))
    return done + active


# --------------------------------------------------------------------------- filtering


@dataclass
class Segment:
    """A kept piece of a track: frames first..last (contiguous), boxes per frame, detected flags."""

    label: str
    first: int
    boxes: np.ndarray  # (n, 4) x, y, w, h
    detected: np.ndarray  # (n,) bool
    mean_score: float


def _fill_gaps(track: Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frames = np.array(track.frames)
    full = np.arange(frames[0], frames[-1] + 1)
    boxes = np.stack([np.interp(full, frames, np.array(track.boxes)[:, k]) for k in range(4)], 1)
    scores = np.zeros(len(full))
    scores[frames - frames[0]] = track.scores
    return boxes, np.isin(full, frames), scores


def _breaks(boxes: np.ndarray, cfg: PseudoTrackConfig) -> np.ndarray:
    """Indices i where the step from box i-1 to box i is inconsistent."""
    c = boxes[:, :2] + boxes[:, 2:] / 2
    size = np.sqrt(boxes[:, 2] * boxes[:, 3])
    jump = np.linalg.norm(np.diff(c, axis=0), axis=1) / np.minimum(size[1:], size[:-1])
    scale = np.abs(np.diff(np.log(boxes[:, 2] * boxes[:, 3])))
    aspect = np.abs(np.diff(np.log(boxes[:, 2] / boxes[:, 3])))
    bad = (jump > cfg.max_jump) | (scale > cfg.max_scale_step) | (aspect > cfg.max_aspect_step)
    return np.flatnonzero(bad) + 1


def _drifts(boxes: np.ndarray, cfg: PseudoTrackConfig, window: int = 10) -> bool:
    """Whether the box's area or aspect ratio changes too much within `window` frames: steady change
    of this speed is rare in real footage and usually a box sliding onto other objects."""
    k = min(window, len(boxes) - 1)
    if k < 1:
        return False
    log_area, log_aspect = np.log(boxes[:, 2] * boxes[:, 3]), np.log(boxes[:, 2] / boxes[:, 3])
    return bool(np.abs(log_area[k:] - log_area[:-k]).max() > np.log(cfg.max_area_change)
                or np.abs(log_aspect[k:] - log_aspect[:-k]).max() > np.log(cfg.max_aspect_change))


def _smooth(boxes: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(boxes) < window:
        return boxes
    k, half = np.ones(window) / window, window // 2
    padded = np.pad(boxes, ((half, half), (0, 0)), mode="edge")
    return np.stack([np.convolve(padded[:, j], k, mode="valid") for j in range(4)], 1)


def clean_track(track: Track, frame_wh: tuple[int, int], cfg: PseudoTrackConfig) -> list[Segment]:
    """The consistent, confident pieces of a track (possibly none)."""
    boxes, detected, scores = _fill_gaps(track)
    edges = [0, *_breaks(boxes, cfg).tolist(), len(boxes)]
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        bx, det = boxes[a:b], detected[a:b]
        if b - a < cfg.min_length or det.mean() < cfg.min_detected:
            continue
        if scores[a:b][det].mean() < cfg.min_mean_score or _drifts(bx, cfg):
            continue
        if np.median(np.sqrt(bx[:, 2] * bx[:, 3])) < cfg.min_side:
            continue
        if np.median(bx[:, 2] * bx[:, 3]) > cfg.max_area * frame_wh[0] * frame_wh[1]:
            continue
        out.append(Segment(track.label, track.frames[0] + a, _clip(_smooth(bx, cfg.smooth), frame_wh), det,
                           float(scores[a:b][det].mean())))
    return out


def _nested_share(a: Segment, b: Segment, containment: float = 0.7) -> float:
    """Share of `a`'s frames where `a` and `b` overlap mostly (intersection / smaller box > containment)."""
    lo, hi = max(a.first, b.first), min(a.first + len(a.boxes), b.first + len(b.boxes))
    hits = 0
    for t in range(lo, hi):
        ba, bb = a.boxes[t - a.first], b.boxes[t - b.first]
        iw = min(ba[0] + ba[2], bb[0] + bb[2]) - max(ba[0], bb[0])
        ih = min(ba[1] + ba[3], bb[1] + bb[3]) - max(ba[1], bb[1])
        hits += max(0.0, iw) * max(0.0, ih) > containment * min(ba[2] * ba[3], bb[2] * bb[3])
    return hits / len(a.boxes)


def drop_duplicates(segments: Sequence[Segment]) -> list[Segment]:
    """Of same-class segments on the same object at the same time (boxes nested in most of the
    frames), keep the one with the most frames x score; the result is ordered by first frame."""
    kept: list[Segment] = []
    for s in sorted(segments, key=lambda s: (-len(s.boxes) * s.mean_score, s.first)):
        if not any(k.label == s.label and _nested_share(s, k) > 0.5 for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: (s.first, s.label, s.boxes[0, 0]))


def _clip(boxes: np.ndarray, frame_wh: tuple[int, int]) -> np.ndarray:
    x0 = np.clip(boxes[:, 0], 0, frame_wh[0])
    y0 = np.clip(boxes[:, 1], 0, frame_wh[1])
    x1 = np.clip(boxes[:, 0] + boxes[:, 2], 0, frame_wh[0])
    y1 = np.clip(boxes[:, 1] + boxes[:, 3], 0, frame_wh[1])
    return np.stack([x0, y0, x1 - x0, y1 - y0], 1)


# --------------------------------------------------------------------------- the pipeline


def class_folder(label: str) -> str:
    """A class name usable in LaSOT folder names ("traffic light" → "traffic_light")."""
    return label.replace(" ", "_")


def _detect_video(source: Path, detector: Detector, cfg: PseudoTrackConfig, progress: bool):
    """Detections per frame, shot-change frames and the frame size of one video."""
    from tqdm import tqdm

    per_frame, cuts, prev, wh = [], [], None, (0, 0)
    for t, frame in enumerate(tqdm(read_frames(source, cfg.max_side, cfg.frame_step), desc=f"detect {source.name}",
                                   disable=not progress, unit="frame", leave=False)):
        hist = _grey_hist(frame)
        if is_shot_change(prev, hist, cfg.cut_threshold):
            cuts.append(t)
        prev, wh = hist, (frame.shape[1], frame.shape[0])
        per_frame.append(detector(frame))
    return per_frame, cuts, wh


def _encode(frame: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def _crop(frame: np.ndarray, box: np.ndarray) -> np.ndarray:
    x0, y0 = int(box[0]), int(box[1])
    return frame[y0:max(y0 + 1, int(round(box[1] + box[3]))), x0:max(x0 + 1, int(round(box[0] + box[2])))]


def _write_annotations(folder: Path, boxes: np.ndarray, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{b[0]:.1f},{b[1]:.1f},{b[2]:.1f},{b[3]:.1f}\n" for b in boxes)
    (folder / "groundtruth.txt").write_text(lines)
    zeros = ",".join("0" * len(boxes)) + "\n"
    (folder / "full_occlusion.txt").write_text(zeros)
    (folder / "out_of_view.txt").write_text(zeros)
    (folder / "nlp.txt").write_text(text + "\n")


class _Namer:
    """``<class>-<k>`` names, numbered per class in the order sequences are made."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, label: str) -> str:
        cls = class_folder(label)
        self.counts[cls] = self.counts.get(cls, 0) + 1
        return f"{cls}-{self.counts[cls]}"


def _video_sequences(source: Path, detector: Detector, out: Path, cfg: PseudoTrackConfig, namer: _Namer,
                     progress: bool) -> list[dict]:
    per_frame, cuts, wh = _detect_video(source, detector, cfg, progress)
    tracks = link_detections(per_frame, cfg, cuts)
    segments = drop_duplicates([s for tr in tracks for s in clean_track(tr, wh, cfg)])
    names = [namer(s.label) for s in segments]
    writers: dict[int, list[tuple[Path, int]]] = {}
    samples: dict[int, list[np.ndarray]] = {i: [] for i in range(len(segments))}
    for i, (seg, name) in enumerate(zip(segments, names)):
        folder = out / class_folder(seg.label) / name / "img"
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(len(seg.boxes)):
            writers.setdefault(seg.first + k, []).append((folder / f"{k + 1:08d}.jpg", i))
    for t, frame in enumerate(read_frames(source, cfg.max_side, cfg.frame_step) if writers else ()):
        if t not in writers:
            continue
        data = _encode(frame, cfg.jpeg_quality)
        for path, i in writers[t]:
            path.write_bytes(data)
            k, n = t - segments[i].first, len(segments[i].boxes)
            if k in (0, n // 4, n // 2, 3 * n // 4, n - 1):  # colour from five frames of the track
                samples[i].append(_crop(frame, segments[i].boxes[k]))
    rows = []
    for i, (seg, name) in enumerate(zip(segments, names)):
        text = describe(seg.label, dominant_colour(samples[i]), seg.boxes, wh, f"{source.name}/{name}")
        _write_annotations(out / class_folder(seg.label) / name, seg.boxes, text)
        rows.append({"sequence": name, "class": seg.label, "source": str(source),
                     "first_frame": seg.first * cfg.frame_step, "frames": len(seg.boxes),
                     "mean_score": round(seg.mean_score, 3), "text": text})
    return rows


def _still_sequences(source: Path, detector: Detector, out: Path, cfg: PseudoTrackConfig,
                     namer: _Namer) -> list[dict]:
    frame = next(read_frames(source, cfg.max_side))
    wh = (frame.shape[1], frame.shape[0])
    rows = []
    for d in suppress_cross_class(detector(frame)):
        box = _clip(d.box_xywh[None].astype(float), wh)
        if d.score < cfg.still_score or np.sqrt(box[0, 2] * box[0, 3]) < cfg.min_side:
            continue
        if box[0, 2] * box[0, 3] > cfg.max_area * wh[0] * wh[1]:
            continue
        name = namer(d.label)
        folder = out / class_folder(d.label) / name
        (folder / "img").mkdir(parents=True, exist_ok=True)
        (folder / "img" / "00000001.jpg").write_bytes(_encode(frame, cfg.jpeg_quality))
        text = describe(d.label, dominant_colour([_crop(frame, box[0])]), box, wh, f"{source.name}/{name}")
        _write_annotations(folder, box, text)
        rows.append({"sequence": name, "class": d.label, "source": str(source), "first_frame": 0, "frames": 1,
                     "mean_score": round(d.score, 3), "text": text})
    return rows


def make_pseudo_tracks(sources: Sequence[Union[str, Path]], out: Union[str, Path], detector: Detector, *,
                       config: Optional[PseudoTrackConfig] = None, progress: bool = True) -> list[dict]:
    """Write pseudo-labelled sequences from `sources` (videos, folders of frames, still images) into
    `out` (LaSOT layout, which must be new or empty); returns the manifest rows (one per sequence)."""
    from tqdm import tqdm

    cfg = config or PseudoTrackConfig()
    if cfg.frame_step < 1 or cfg.max_side < 32 or cfg.min_length < 1:
        raise ValueError(f"frame_step >= 1, max_side >= 32 and min_length >= 1 needed, got {cfg.frame_step}, "
                         f"{cfg.max_side}, {cfg.min_length}")
    if not sources:
        raise ValueError("give at least one source (video file, folder of frames or image)")
    paths = [Path(s) for s in sources]
    kinds = [source_kind(p) for p in paths]  # fails early on a missing source
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"output folder {out} is not empty: give a new folder (or remove it first)")
    out.mkdir(parents=True, exist_ok=True)
    namer, rows = _Namer(), []
    for path, kind in tqdm(list(zip(paths, kinds)), desc="pseudo-tracks", disable=not progress, unit="source"):
        if kind == "still":
            rows += _still_sequences(path, detector, out, cfg, namer)
        else:
            rows += _video_sequences(path, detector, out, cfg, namer, progress)
    columns = ["sequence", "class", "source", "first_frame", "frames", "mean_score", "text"]
    (out / "manifest.tsv").write_text("\t".join(columns) + "\n" + "".join(
        "\t".join(str(r[c]) for c in columns) + "\n" for r in rows))
    (out / "config.json").write_text(json.dumps({"config": asdict(cfg), "sources": [str(p) for p in paths],
                                                 "detector": _detector_info(detector)}, indent=1) + "\n")
    return rows


def _detector_info(detector: Detector) -> dict:
    info = {"type": type(detector).__name__}
    for key in ("model", "config", "min_score", "input_size"):
        if hasattr(detector, key):
            info[key] = str(getattr(detector, key))
    return info
