"""The user-facing tracker (SPEC §6): ``initialize`` once, then ``track`` every frame.

    tracker = Tracker.from_checkpoint("model.safetensors")
    tracker.initialize(frame0, bbox=(x, y, w, h), text="the red car on the left")
    box_xywh, score = tracker.track(frame1)

Frames are RGB uint8 (H, W, 3) arrays; boxes ``x, y, w, h`` in pixels. The template side
(crop, patch embedding, language vector, modal mixup) is computed once in `initialize`; each
`track` call crops the search region around the last box (factor ``data.search_factor``), runs the
search side, multiplies the score map by a Hann window, decodes the box at its peak, maps it back to
the image and clips it so that at least ``track.min_inside_px`` pixels stay inside.
"""
from __future__ import annotations

import math
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from ..data.processing import box_from_crop, crop_square, crop_window, normalize_image
from ..devices import check_device
from ..model.allinone import AllInOne, TemplateFeatures
from ..model.head import decode_boxes
from .backends import OnnxRuntimeModel, build_backend, check_backend, resolve_threads

BUNDLED_CHECKPOINT = "cpu-small.safetensors"


def default_checkpoint() -> Path:
    """The bundled default model (``allinone/assets/cpu-small.safetensors``: cpu-small, int8 storage)."""
    path = Path(str(resources.files("allinone") / "assets" / BUNDLED_CHECKPOINT))
    if not path.exists():
        raise FileNotFoundError(f"no bundled model at {path}; pass a checkpoint (--checkpoint PATH)")
    return path


def hann_window(size: int) -> np.ndarray:
    """2-D Hann window (size, size) with non-zero borders: ``0.5(1 − cos(2πn/(size+1)))``, n = 1..size."""
    n = np.arange(1, size + 1)
    w = 0.5 * (1 - np.cos(2 * math.pi * n / (size + 1)))
    return np.outer(w, w)


def clip_box(box_xywh: np.ndarray, width: int, height: int, margin: float) -> np.ndarray:
    """Clip a box to the image keeping at least `margin` pixels of it inside (and ≥ margin in size)."""
    x, y, w, h = box_xywh
    margin_x, margin_y = min(margin, width), min(margin, height)
    x1 = min(max(0.0, x), width - margin_x)
    y1 = min(max(0.0, y), height - margin_y)
    x2 = min(max(margin_x, x + w), width)
    y2 = min(max(margin_y, y + h), height)
    return np.array([x1, y1, max(margin_x, x2 - x1), max(margin_y, y2 - y1)])


@dataclass
class TrackerState:
    """Per-video state: cached template features and where the target was last seen."""

    features: TemplateFeatures
    box_xywh: np.ndarray
    image_size: tuple[int, int]  # (W, H) of the last frame
    frame_index: int
    text: str


def _check_frame(frame: Any) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise ValueError(f"a frame must be a numpy array (H, W, 3) RGB uint8, got {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"a frame must be an RGB uint8 array of shape (H, W, 3), got {frame.dtype} {frame.shape}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise ValueError(f"frame of shape {frame.shape} is too small to track in")
    return frame


# A first box more than this many times the image's width or height is a mistake (units, order).
MAX_BOX_TO_IMAGE = 4.0


def _check_box(bbox: Sequence[float], width: int, height: int) -> np.ndarray:
    try:
        if isinstance(bbox, (dict, str, bytes)):
            raise TypeError
        box = np.asarray(bbox, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        box = None
    if box is None or box.shape != (4,) or not np.isfinite(box).all():
        raise ValueError(f"bbox must be 4 finite numbers x, y, w, h (a list, tuple or array); got {bbox!r}")
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise ValueError(f"bbox {box.tolist()} has a non-positive width or height")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise ValueError(f"bbox {box.tolist()} lies entirely outside the {width}x{height} image")
    if w > MAX_BOX_TO_IMAGE * width or h > MAX_BOX_TO_IMAGE * height:
        raise ValueError(f"bbox {box.tolist()} is more than {MAX_BOX_TO_IMAGE:g} times the {width}x{height} image; "
                         "give the target's box x, y, w, h in pixels of the first frame")
    return box


class Tracker:
    """Single-object vision-language tracker around an `AllInOne` model.

    Args:
        model: an inference model (``allinone.load_model``) with ``.config`` and ``.tokenizer``.
        device: where to run (``cpu``, ``cuda``, ``cuda:N``).
        precision: ``fp32``, ``bf16`` (CPU or GPU autocast), ``fp16`` (GPU autocast) or ``int8``
            (CPU: int8 weights of the Linear layers, see `allinone.track.backends`).
        backend: ``torch`` or ``onnxruntime`` (ONNX graphs run by ONNX Runtime, fp32 or int8; `model`
            may then also be an `OnnxRuntimeModel` opened from an ``allinone export`` folder).
        threads: CPU threads (default: `allinone.track.backends.default_threads`: all cores, but 1
            for cpu-tiny-sized models on torch or when torch's threads spin-wait); with torch this
            sets torch's process-wide intra-op thread count, with onnxruntime the sessions'.
    """

    def __init__(self, model: AllInOne, device: Union[str, torch.device] = "cpu", precision: str = "fp32",
                 backend: str = "torch", threads: Optional[int] = None):
        self.device = check_device(device)
        check_backend(backend, precision, self.device)
        self.threads = resolve_threads(threads, backend, model.config)
        if self.device.type == "cpu":  # with onnxruntime torch only crops: one thread, none spinning
            torch.set_num_threads(1 if backend == "onnxruntime" else self.threads)
        self.model = build_backend(model, backend, precision, self.device, self.threads)
        self.threads = getattr(self.model, "threads", self.threads)  # an opened ONNX model keeps its own
        self.config = model.config
        self.tokenizer = getattr(model, "tokenizer", None)
        self.precision = precision
        self.backend = backend
        m = self.config.model
        self.window = torch.from_numpy(hann_window(m.search_grid)).float().to(self.device)
        self.state: Optional[TrackerState] = None
        self._warned_long_text = False

    @classmethod
    def from_checkpoint(cls, path: Union[str, Path, None] = None, device: str = "cpu",
                        precision: str = "fp32", backend: str = "torch",
                        threads: Optional[int] = None) -> "Tracker":
        """Load a checkpoint (default: the bundled model) and wrap it.

        With ``backend="onnxruntime"`` `path` may also be an ``allinone export --format onnx``
        folder; a checkpoint is then exported to ONNX on the fly (a few seconds at ViT-B).
        """
        from ..model.checkpoint import load_model
        from .onnx_export import is_onnx_export

        check_backend(backend, precision, check_device(device))  # before the model is moved there
        if is_onnx_export(path):
            if backend != "onnxruntime":
                raise ValueError(f"{path} is an ONNX export: track it with backend='onnxruntime' "
                                 "(--backend onnxruntime)")
            model = OnnxRuntimeModel(path, precision, threads)
        else:
            model = load_model(path or default_checkpoint(), device=device)
        return cls(model, device=device, precision=precision, backend=backend, threads=threads)

    # ------------------------------------------------------------------ helpers

    def _autocast(self):
        if self.precision not in ("bf16", "fp16"):  # fp32, int8 (its own kernels)
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _encode_text(self, text: Optional[str]) -> tuple[torch.Tensor, torch.Tensor]:
        text = (text or "").strip()
        if text and self.tokenizer is None:
            raise ValueError("this checkpoint carries no tokenizer, so it cannot use text; track with a box only")
        if not text:
            L = self.config.model.max_text_len
            return torch.zeros(1, L, dtype=torch.long), torch.zeros(1, L, dtype=torch.long)
        ids, mask = self.tokenizer.encode(text)
        if mask.all() and not self._warned_long_text and len(self.tokenizer.tokenize(text)) > ids.shape[1] - 2:
            warnings.warn(f"text longer than {ids.shape[1]} tokens is truncated: {text[:60]!r}...", stacklevel=3)
            self._warned_long_text = True
        return ids, mask

    def _crop(self, frame: np.ndarray, box: np.ndarray, factor: float, size: int,
              side: Optional[float] = None) -> tuple[torch.Tensor, Any]:
        window = crop_window(box, factor, size, side=side)
        crop = crop_square(frame, window, size)
        d = self.config.data
        return normalize_image(crop, d.mean, d.std).unsqueeze(0).to(self.device), window

    # ------------------------------------------------------------------ API

    @torch.inference_mode()
    def initialize(self, frame: np.ndarray, bbox: Optional[Sequence[float]] = None,
                   text: Optional[str] = None) -> None:
        """Start a new video: `frame` RGB uint8 (H, W, 3), first box ``x, y, w, h`` and/or text.

        Without a box the target is found from the text alone (experimental, SPEC §9): the whole
        frame is searched with a template cut from the image centre.
        """
        frame = _check_frame(frame)
        if text is not None and not isinstance(text, str):
            raise ValueError(f"text must be a string (or None for box-only tracking), got {type(text).__name__} "
                             f"{text!r}")
        h, w = frame.shape[:2]
        if bbox is None:
            if not (text or "").strip():
                raise ValueError("initialize needs a bbox (x, y, w, h), a text, or both")
            bbox = self._locate_from_text(frame, text)
        box = _check_box(bbox, w, h)
        m, d = self.config.model, self.config.data
        template, _ = self._crop(frame, box, d.template_factor, m.template_size)
        ids, mask = (t.to(self.device) for t in self._encode_text(text))
        with self._autocast():
            features = self.model.encode_template(template, ids, mask)
        self.state = TrackerState(features, box, (w, h), 0, (text or "").strip())

    def _locate_from_text(self, frame: np.ndarray, text: str) -> np.ndarray:
        h, w = frame.shape[:2]
        m = self.config.model
        side = float(max(w, h))
        centre = np.array([w / 2 - side / 4, h / 2 - side / 4, side / 2, side / 2])
        template, _ = self._crop(frame, centre, 1.0, m.template_size)
        search, window = self._crop(frame, centre, 1.0, m.search_size, side=side)
        ids, mask = (t.to(self.device) for t in self._encode_text(text))
        with self._autocast():
            out = self.model.track_search(self.model.encode_template(template, ids, mask), search)
        cx, cy, bw, bh = (out.boxes[0].float().cpu().numpy() * m.search_size).tolist()
        box = box_from_crop([cx - bw / 2, cy - bh / 2, bw, bh], window)
        return clip_box(box, w, h, self.config.track.min_inside_px)

    @torch.inference_mode()
    def track(self, frame: np.ndarray) -> tuple[np.ndarray, float]:
        """Next frame → (box ``x, y, w, h`` float (4,), confidence in [0, 1])."""
        if self.state is None:
            raise RuntimeError("call initialize(frame, bbox=..., text=...) before track(frame)")
        frame = _check_frame(frame)
        h, w = frame.shape[:2]
        st = self.state
        m, d = self.config.model, self.config.data
        search, window = self._crop(frame, st.box_xywh, d.search_factor, m.search_size)
        with self._autocast():
            out = self.model.track_search(st.features, search)
        score = out.score_map.float()
        windowed = score * self.window if self.config.track.hann_window else score
        box_norm = decode_boxes(windowed, out.size_map.float(), out.offset_map.float())[0]
        peak = int(windowed.flatten().argmax())
        confidence = float(score.flatten()[peak])
        cx, cy, bw, bh = (box_norm.cpu().numpy() * m.search_size).tolist()
        box = box_from_crop([cx - bw / 2, cy - bh / 2, bw, bh], window)
        box = clip_box(box, w, h, self.config.track.min_inside_px)
        st.box_xywh, st.image_size, st.frame_index = box, (w, h), st.frame_index + 1
        return box, confidence

    def reset(self) -> None:
        """Forget the current video (the next call must be `initialize`)."""
        self.state = None
